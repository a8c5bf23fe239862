import Foundation
import NIOPosix
import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

/// Jobs: long work the daemon's runner does (`JobRunner`), kept in `jobs.db` (`JobStore`). Starting one answers
/// 202 with the job and its `Location`; a dry run answers the preview at once and queues nothing. At most one job
/// per kind is queued or running (409, rule `one_job_per_kind`).
extension AdminAPI {
    func startResync(_ input: Operations.StartResync.Input) async throws -> Operations.StartResync.Output {
        let caller = try Caller.admin()
        guard case .json(let request) = input.body else { throw APIProblem.badRequest("body: JSON expected", field: "body") }
        let rate = request.rate ?? 10
        guard (0.1...100).contains(rate) else {
            throw APIProblem.badRequest("rate: \(rate) must be 0.1..100 devices per second", field: "rate", rule: "0.1..100")
        }
        let selection = try Self.selection(request.selection)
        let via: ResyncOptions.Via = request.via == .http ? .http : .sip
        let event = request.event?.rawValue ?? "resync"
        if via == .http && event != "resync" {
            throw APIProblem.badRequest("event: \(event) only with via sip (the XML execute interface resyncs)",
                                        field: "event", rule: "resync with via http")
        }
        var address: ResyncAddress?
        if let text = request.address {
            do {
                address = try ResyncAddress(text)
            } catch {
                throw APIProblem.badRequest("address: \(error.description.replacingOccurrences(of: "--address: ", with: ""))",
                                            field: "address", rule: "host[:port]")
            }
        }
        let options = ResyncOptions(via: via, event: event, rate: rate, address: address,
                                    cleartextCredentials: request.cleartextCredentials ?? false)
        let devices = try await store.read { editor in try selection.devices(in: editor) }
        if input.query.dryRun == true {
            return .ok(.init(body: .json(try Typed.decode(Components.Schemas.SelectionPreview.self,
                                                          ResyncJob.preview(devices, rate: rate)))))
        }
        let jobs = jobs
        let job = try await Self.blocking {
            try ResyncJob.start(devices, options: options, address: request.address, startedBy: caller.user, jobs: jobs)
        }
        return .accepted(.init(headers: .init(location: job.location), body: .json(try Self.typed(job))))
    }

    func startRevertJob(_ input: Operations.StartRevertJob.Input) async throws -> Operations.StartRevertJob.Output {
        let caller = try Caller.admin()
        guard case .json(let request) = input.body else { throw APIProblem.badRequest("body: JSON expected", field: "body") }
        let ids = request.changeSets.map(Int.init)
        guard !ids.isEmpty, ids.count <= 1000, ids.allSatisfy({ $0 >= 1 }) else {
            throw APIProblem.badRequest("change_sets: 1 to 1000 change set ids, each 1 or more", field: "change_sets", rule: "1..1000 ids")
        }
        let force = request.force ?? false
        if input.query.dryRun == true {
            let report = try await store.write(caller, mode: ChangeMode(dryRun: true, force: force)) { editor, session, mode in
                let plan = try RevertJob.plan(ids, in: editor)
                guard case .dryRun(let report) = try ChangeEngine(store: editor, session: session, mode: mode).revert(plan) else {
                    throw AdminError(.runtime, "dry run: the change was written")
                }
                return try Self.preview(report)
            }
            return .ok(.init(body: .json(try Typed.decode(Components.Schemas.DryRunReport.self, report))))
        }
        let jobs = jobs
        // The change sets must exist now: a typo is 404 here, not a failed job later.
        let job = try await store.read { editor in
            _ = try RevertJob.plan(ids, in: editor)
            return try RevertJob.start(ids, force: force, who: caller.who, startedBy: caller.user, jobs: jobs)
        }
        return .accepted(.init(headers: .init(location: job.location), body: .json(try Self.typed(job))))
    }

    func importDevices(_ input: Operations.ImportDevices.Input) async throws -> Operations.ImportDevices.Output {
        let caller = try Caller.admin()
        guard case .csv(let body) = input.body else { throw APIProblem.badRequest("body: text/csv expected", field: "body") }
        let bytes = try await [UInt8](collecting: body, upTo: AdminDaemon.bodyLimit)
        let skipInvalid = input.query.skipInvalid ?? false, force = input.query.force ?? false
        // The file is read and its rows checked before anything is queued: a malformed file or (without
        // skip_invalid) a bad row is 422 now, with every problem listed.
        let parsed = try ImportJob.parse(bytes)
        if !parsed.problems.isEmpty && !skipInvalid { throw DeviceImport.refusal(parsed.problems, file: ImportJob.file) }
        let rows = parsed.rows.count + Set(parsed.problems.compactMap(\.line)).count
        if input.query.dryRun == true {
            let preview = try await store.write(caller, mode: ChangeMode(dryRun: true, force: force)) { editor, session, mode in
                let run = try DeviceImport.run(try ImportJob.parse(bytes), skipInvalid: skipInvalid, file: ImportJob.file, store: editor,
                                               session: session, mode: mode)
                guard case .dryRun(let report) = run.edited else { throw AdminError(.runtime, "dry run: the change was written") }
                return try Self.preview(report, problems: run.skipped)
            }
            return .ok(.init(body: .json(try Typed.decode(Components.Schemas.DryRunReport.self, preview))))
        }
        let jobs = jobs
        let job = try await Self.blocking {
            try ImportJob.start(bytes, rows: rows, skipInvalid: skipInvalid, force: force, who: caller.who,
                                startedBy: caller.user, jobs: jobs)
        }
        return .accepted(.init(headers: .init(location: job.location), body: .json(try Self.typed(job))))
    }

    func listJobs(_ input: Operations.ListJobs.Input) async throws -> Operations.ListJobs.Output {
        _ = try Caller.required()
        let limit = try Self.limit(input.query.limit)
        let after = try Self.idCursor(input.query.after, of: "job")
        let kind = input.query.kind.flatMap { JobRecord.Kind(rawValue: $0.rawValue) }
        let state = input.query.state.flatMap { JobRecord.State(rawValue: $0.rawValue) }
        let jobs = jobs
        let page = try await Self.blocking { try jobs.jobs(after: after, limit: limit, kind: kind, state: state) }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.JobPage.self, JobStore.page(page.jobs, next: page.next)))))
    }

    func getJob(_ input: Operations.GetJob.Input) async throws -> Operations.GetJob.Output {
        _ = try Caller.required()
        let jobs = jobs, id = input.path.id
        let job = try await Self.blocking { try jobs.job(named: id) }
        return .ok(.init(body: .json(try Self.typed(job))))
    }

    func listJobItems(_ input: Operations.ListJobItems.Input) async throws -> Operations.ListJobItems.Output {
        _ = try Caller.required()
        let limit = try Self.limit(input.query.limit)
        let after = Int(input.query.after ?? 0)
        guard after >= 0 else { throw APIProblem.badRequest("after: must be 0 or more", field: "after", rule: "minimum 0") }
        let outcome = input.query.outcome.flatMap { JobItem.Outcome(rawValue: $0.rawValue) }
        let jobs = jobs, id = input.path.id
        let page = try await Self.blocking {
            try jobs.items(of: try jobs.job(named: id).id, after: after, limit: limit, outcome: outcome)
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.JobItemPage.self, JobStore.page(page.items, next: page.next)))))
    }

    func cancelJob(_ input: Operations.CancelJob.Input) async throws -> Operations.CancelJob.Output {
        _ = try Caller.admin()
        let jobs = jobs, id = input.path.id
        let job = try await Self.blocking { try jobs.cancel(try jobs.job(named: id).id) }
        return .accepted(.init(body: .json(try Self.typed(job))))
    }
}

extension AdminAPI {
    /// Work on `jobs.db` (no configuration database needed), on the blocking pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive { try body() }
    }

    static func typed(_ job: JobRecord) throws -> Components.Schemas.Job {
        try Typed.decode(Components.Schemas.Job.self, job.json)
    }

    /// A page size: 1..1000, 100 when not given.
    static func limit(_ value: Int?) throws -> Int {
        let limit = value ?? 100
        guard (1...1000).contains(limit) else {
            throw APIProblem.badRequest("limit: \(limit) must be 1..1000", field: "limit", rule: "1..1000")
        }
        return limit
    }

    /// The request's selection for the engine; a MAC that cannot be one is 400 naming it.
    static func selection(_ selection: Components.Schemas.Selection) throws -> DeviceSelection {
        DeviceSelection(macs: try selection.macs.map { try $0.map { try mac($0, field: "selection.macs") } },
                        group: selection.group, model: selection.model, state: selection.state?.rawValue,
                        firmware: selection.firmware, all: selection.all ?? false)
    }

    /// A dry run's answer: the report `--dry-run --json` prints with `result: dry_run` first (and an import's
    /// rows left out); a dry run that would leave devices unable to render is 422, as provctl exits 6.
    static func preview(_ report: DryRunReport, problems: [AdminError.Problem] = []) throws -> JSON {
        if !report.breaking.isEmpty { throw report.failure }
        let json = EditedAnswer.tagged("dry_run", report.json)
        guard !problems.isEmpty, case .object(let pairs) = json else { return json }
        return .object(pairs + [("problems", .array(problems.map(\.json)))])
    }
}
