import Foundation
public import Provisioning

/// Runs one job the runner claimed (state `running`) to its end, blocking, recording each item as it is known so
/// that progress shows while it runs. It checks between steps whether the job was asked to stop (`cancel`: it
/// ends `cancelled`) or the daemon is stopping (it ends `interrupted`); items already handled keep their outcome.
/// A job whose items failed is still `done` (its progress counts them); `failed` is a job that could not run.
public struct JobWorker: Sendable {
    public let jobs: JobStore
    public let databasePath: String
    public let journals: JournalFiles

    public init(jobs: JobStore, databasePath: String, journals: JournalFiles) {
        self.jobs = jobs
        self.databasePath = databasePath
        self.journals = journals
    }

    public func run(_ job: JobRecord, stopping: @Sendable () -> Bool) {
        do {
            switch job.kind {
            case .resync: try jobs.finish(job.id, try resync(job, stopping: stopping))
            case .revert, .import:
                // One change, all or nothing: a cancel is taken before it starts.
                if try jobs.cancelRequested(job.id) { return try jobs.finish(job.id, .cancelled) }
                try jobs.finish(job.id, .done, changeSet: job.kind == .revert ? try revert(job) : try importDevices(job))
            case .campaign:
                // A campaign the daemon stops goes back to the queue (its state is in jobs.db): the next run goes on.
                guard let ended = try CampaignRunner(worker: self, job: job).run(stopping: stopping) else {
                    return try CampaignStore(jobs: jobs).requeue(job.id)
                }
                try jobs.finish(job.id, ended)
            }
        } catch let error as AdminError {
            try? jobs.finish(job.id, .failed, error: JobRecord.Failure(error))
        } catch {
            let line = String("\(error)".prefix { $0 != "\n" }.prefix(400))
            try? jobs.finish(job.id, .failed, error: JobRecord.Failure(title: "Job failed", detail: line, code: "runtime"))
        }
    }

    func openStore() throws -> ConfigurationEditor {
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw AdminError(.runtime, "database: no file at \(databasePath) (run provctl init)")
        }
        do {
            let store = try ConfigurationEditor(path: databasePath, mode: .readWrite)
            _ = try store.attachJournals(journals)
            return store
        } catch {
            throw AdminError(.runtime, "database \(databasePath): \(error)", underlying: error)
        }
    }

    /// The options a resync job was started with (`ResyncJob.options`).
    static func resyncOptions(_ job: JobRecord) throws -> ResyncOptions {
        let values = job.options
        var options = ResyncOptions(via: values["via"] == "http" ? .http : .sip, event: values["event"] ?? "resync",
                                    rate: values["rate"].flatMap(Double.init) ?? 10, t1: values["t1"].flatMap(Int.init) ?? 500,
                                    cleartextCredentials: values["cleartext_credentials"] == "yes")
        if let address = values["address"] {
            do {
                options.address = try ResyncAddress(address)
            } catch {
                throw AdminError(.usage, error.description, field: "address", rule: "host[:port]")
            }
        }
        return options
    }

    /// The paced push of `provctl resync` over the job's MACs, in batches of one second's worth (`rate` phones):
    /// a cancel takes effect after the current batch.
    func resync(_ job: JobRecord, stopping: @Sendable () -> Bool) throws -> JobRecord.State {
        let options = try Self.resyncOptions(job)
        let store = try openStore()
        var devices: [Device] = []
        var gone: [JobItem] = []
        for target in try jobs.targets(of: job.id) {
            guard let mac = MACAddress(target), let device = try store.device(mac: mac) else {
                gone.append(JobItem(target: target, outcome: .skipped, detail: "skipped: no longer a device"))
                continue
            }
            devices.append(device)
        }
        try jobs.record(gone, job: job.id)
        let plans = try ResyncEngine.plan(devices, store: store, options: options)
        let batch = max(1, Int(options.rate.rounded(.up)))
        var index = plans.startIndex
        var failure: (any Error)?
        while index < plans.endIndex {
            if stopping() { return .interrupted }
            if try jobs.cancelRequested(job.id) { return .cancelled }
            let chunk = Array(plans[index..<min(index + batch, plans.endIndex)])
            index += chunk.count
            let started = Date()
            _ = ResyncEngine.push(chunk, options: options) { result in
                guard failure == nil else { return }
                do {
                    try jobs.record([ResyncJob.item(result, options: options)], job: job.id)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            let pushed = chunk.count { $0.refused == nil && $0.skip == nil && $0.problem == nil }
            let due = Double(pushed) / options.rate - Date().timeIntervalSince(started)
            if due > 0, index < plans.endIndex { Thread.sleep(forTimeInterval: due) }
        }
        return .done
    }
}

extension JobWorker {
    /// Reverts the job's change sets, newest first, in one change (as `provctl revert --since` does): all or none.
    /// Each change set becomes an item; the job's `change_set` is the revert's own.
    func revert(_ job: JobRecord) throws -> Int? {
        let store = try openStore()
        let ids = try jobs.targets(of: job.id).compactMap { Int($0) }
        let plan = try RevertJob.plan(ids, in: store)
        let session = AdminSession(who: job.options["who"] ?? job.startedBy)
        let engine = ChangeEngine(store: store, session: session, mode: ChangeMode(force: job.options["force"] == "true"))
        guard case .written(let summary) = try engine.revert(plan) else { return nil }
        try jobs.record(plan.sets.map { JobItem(target: String($0.set), outcome: .ok, detail: "reverted change set #\($0.set)") },
                        job: job.id)
        return summary.changeSet
    }
}

extension JobWorker {
    /// Imports the job's CSV as `provctl import` does, in one change; the bad rows left out (`skip_invalid`) are
    /// its items (`line:N`, skipped), the rows imported count as ok.
    func importDevices(_ job: JobRecord) throws -> Int? {
        let store = try openStore()
        let parsed = try ImportJob.parse(try jobs.input(of: job.id))
        let session = AdminSession(who: job.options["who"] ?? job.startedBy)
        let run = try DeviceImport.run(parsed, skipInvalid: job.options["skip_invalid"] == "true", file: ImportJob.file,
                                       store: store, session: session, mode: ChangeMode(force: job.options["force"] == "true"))
        guard case .written(let summary) = run.edited else { return nil }
        var lines: [Int: [String]] = [:]
        for problem in run.skipped { lines[problem.line ?? 0, default: []].append(problem.text) }
        try jobs.record(lines.keys.sorted().map { JobItem(target: "line:\($0)", outcome: .skipped, detail: lines[$0]!.joined(separator: "; ")) },
                        job: job.id)
        try jobs.setProgress(job.id, handled: job.total, ok: max(0, job.total - lines.count), failed: 0, skipped: lines.count)
        return summary.changeSet
    }
}

/// Starting an import job: the CSV kept in the job, its rows checked first.
public enum ImportJob {
    /// How the refusal names the file.
    public static let file = "the CSV body"

    /// The file's rows and the problems found reading them (a malformed file throws).
    public static func parse(_ bytes: [UInt8]) throws -> (rows: [DeviceImport.Row], problems: [AdminError.Problem]) {
        let (rows, problems) = try DeviceImport.rows(DeviceImport.records(bytes))
        return (rows, problems)
    }

    /// Queues the import of `bytes` (already parsed: `rows` data rows) for `startedBy`, recorded as `who`.
    public static func start(_ bytes: [UInt8], rows: Int, skipInvalid: Bool, force: Bool, who: String, startedBy: String,
                             jobs: JobStore) throws -> JobRecord {
        try jobs.create(kind: .import, startedBy: startedBy, targets: [],
                        options: [("who", who), ("force", force ? "true" : "false"), ("skip_invalid", skipInvalid ? "true" : "false")],
                        input: bytes, total: rows)
    }
}

/// Starting a revert job: many change sets at once.
public enum RevertJob {
    /// The change sets `ids` as one plan, newest first; an id that names no revertible change set is `.notFound`.
    public static func plan(_ ids: [Int], in store: ConfigurationEditor) throws -> RevertPlan {
        var merged = try RevertPlan([], in: store)
        for id in Set(ids).sorted(by: >) {
            let plan = try RevertPlan.changeSet(id, in: store)
            merged.sets += plan.sets
            merged.macs.formUnion(plan.macs)
            merged.scopes.formUnion(plan.scopes)
        }
        return merged
    }

    /// Queues the revert of `ids` for `startedBy`, recorded in the history as `who`.
    public static func start(_ ids: [Int], force: Bool, who: String, startedBy: String, jobs: JobStore) throws -> JobRecord {
        try jobs.create(kind: .revert, startedBy: startedBy, targets: Set(ids).sorted(by: >).map(String.init),
                        options: [("who", who), ("force", force ? "true" : "false")])
    }
}

/// Starting a resync job: the same selection and options as `provctl resync`, its devices fixed when it is queued.
public enum ResyncJob {
    /// One phone's outcome as a job item: the members of a `provctl resync --json` entry (`target` is the MAC).
    public static func item(_ result: ResyncResult, options: ResyncOptions) -> JobItem {
        let outcome = result.outcome
        return JobItem(target: outcome.mac.hex, outcome: JobItem.Outcome(rawValue: result.kind.rawValue) ?? .failed,
                       detail: outcome.detail, address: outcome.address, addressSource: result.addressSource,
                       event: options.event, via: options.via.rawValue, status: outcome.status, ms: outcome.milliseconds,
                       sent: outcome.sent)
    }

    /// The options as the job keeps them.
    public static func options(_ options: ResyncOptions, address: String?) -> [(String, String)] {
        var values = [("event", options.event), ("via", options.via.rawValue), ("rate", String(options.rate)), ("t1", String(options.t1))]
        if let address { values.append(("address", address)) }
        // Kept, so that the job does what `provctl resync --via http --cleartext-credentials` (or the API's
        // `cleartext_credentials`) asked; without it, phones with an Admin_Password are refused.
        if options.cleartextCredentials { values.append(("cleartext_credentials", "yes")) }
        return values
    }

    /// Queues a resync of `devices` for `startedBy`: `.conflict` when a resync job is queued or running.
    public static func start(_ devices: [Device], options: ResyncOptions, address: String? = nil, startedBy: String,
                             jobs: JobStore) throws -> JobRecord {
        try jobs.create(kind: .resync, startedBy: startedBy, targets: devices.map(\.mac.hex),
                        options: Self.options(options, address: address))
    }

    /// The dry run's answer (`SelectionPreview`): the devices the selection names, the first 1000 MACs, and how
    /// long the paced run would take.
    public static func preview(_ devices: [Device], rate: Double) -> JSON {
        .object([
            ("result", .string("dry_run")), ("devices", .int(devices.count)),
            ("macs", .array(devices.prefix(1000).map { .string($0.mac.hex) })),
            ("seconds", .int(Int((Double(devices.count) / rate).rounded(.up)))),
        ])
    }
}
