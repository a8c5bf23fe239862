import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// `provctl job`: the admin daemon's jobs (`jobs.db` in its state folder), read and cancelled here; the daemon
/// runs them (`provctl loop resync --job` queues one).
struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "The admin daemon's jobs (resync, import, revert): list, show, items, cancel, wait.",
        discussion: """
            provisioner-admind keeps its jobs in jobs.db in its state folder (its --state, by default the \
            database's folder; here --state-dir). Jobs are started through the API (POST /api/v1/resync, ...) or \
            with provctl loop resync --job; the daemon runs them, one per kind at a time. A job that was running \
            when the daemon stopped is marked interrupted when it starts again (its items keep their outcomes).
            Examples: provctl job list
                      provctl job show 12 --json
                      provctl job items 12 --outcome failed
                      provctl job cancel 12
                      provctl job wait 12 --timeout 600
            """,
        subcommands: [JobList.self, JobShow.self, JobItems.self, JobCancel.self, JobWait.self]
    )
}

/// `--state-dir`: where the daemon keeps jobs.db.
struct JobStateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The admin daemon's state folder (its --state; default: the database's folder).", valueName: "dir"))
    var stateDir: String?

    func jobs(_ store: StoreOptions) -> JobStore {
        JobStore(stateDirectory: stateDir ?? JobStore.defaultStateDirectory(databasePath: store.path))
    }

    /// The jobs file, which must exist (the daemon makes it when it starts, mode 0600, as its own user): provctl
    /// does not make one the daemon could not read or never will.
    func existing(_ store: StoreOptions) throws -> JobStore {
        let jobs = jobs(store)
        guard FileManager.default.fileExists(atPath: jobs.path) else {
            throw Failure(.notFound, "jobs: no file at \(jobs.path) (start provisioner-admind with this state folder; see --state-dir)",
                          field: "--state-dir", rule: "exists")
        }
        return jobs
    }
}

/// One job as a line of `job list` and the text of `job show`.
extension JobRecord {
    var progressText: String { "\(handled)/\(total) (\(ok) ok, \(failed) failed, \(skipped) skipped)" }

    var text: String {
        var lines = ["job \(id): \(kind.rawValue), \(state.rawValue)" + (cancelRequested && !state.isFinal ? " (cancel asked)" : ""),
                     "progress: \(progressText)", "started by: \(startedBy)", "created: \(createdAt)"]
        if let startedAt { lines.append("started: \(startedAt)") }
        if let finishedAt { lines.append("finished: \(finishedAt)") }
        if let changeSet { lines.append("change set: #\(changeSet)") }
        if let error { lines.append("error: \(error.detail)") }
        return lines.joined(separator: "\n")
    }
}

extension ListResult {
    /// A page as the API answers it (`items` and `next_after`) beside its table.
    init(table: Table, page: JSON) {
        self.table = table
        self.json = page
    }
}

struct JobList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Jobs, newest first.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var place: JobStateOptions
    @Option(help: "Only jobs of this kind: resync, import, revert or campaign.") var kind: String?
    @Option(help: "Only jobs in this state: queued, running, done, failed, cancelled or interrupted.") var state: String?
    @Option(help: "At most this many (1..1000).") var limit = 100
    @Option(help: "The jobs older than this id (the next_after of the previous page).") var after: Int?
    @Flag(help: "Print JSON (for scripts): the API's page of jobs.") var json = false

    func validate() throws {
        if let kind, JobRecord.Kind(rawValue: kind) == nil {
            throw ValidationError("--kind: \"\(kind)\" must be one of \(JobRecord.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let state, JobRecord.State(rawValue: state) == nil {
            throw ValidationError("--state: \"\(state)\" must be one of \(JobRecord.State.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if !(1...1000).contains(limit) { throw ValidationError("--limit: \(limit) must be 1..1000") }
    }

    func run() throws {
        let jobs = place.jobs(store)
        let page: (jobs: [JobRecord], next: Int?) = FileManager.default.fileExists(atPath: jobs.path)
            ? try jobs.jobs(after: after, limit: limit, kind: kind.flatMap(JobRecord.Kind.init), state: state.flatMap(JobRecord.State.init))
            : ([], nil)
        var table = Table("ID", "KIND", "STATE", "PROGRESS", "STARTED BY", "CREATED")
        for job in page.jobs {
            table.append([String(job.id), job.kind.rawValue, job.state.rawValue, job.progressText, job.startedBy, job.createdAt])
        }
        Output.emit(ListResult(table: table, page: JobStore.page(page.jobs, next: page.next)), json: json)
    }
}

/// `ID` of a job command.
struct JobID: ParsableArguments {
    @Argument(help: "The job's id (provctl job list, or the API's Location).") var id: String

    var number: Int {
        get throws {
            let digits = id.split(separator: "/").last.map(String.init) ?? id
            guard let number = Int(digits), number > 0 else { throw ValidationError("ID: \"\(id)\" is not a job id") }
            return number
        }
    }
}

struct JobShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One job with its progress.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var place: JobStateOptions
    @OptionGroup var job: JobID
    @Flag(help: "Print JSON (for scripts): the API's job.") var json = false

    func run() throws {
        let record = try place.existing(store).job(try job.number)
        Output.emit(ValueResult(json: record.json, text: record.text), json: json)
    }
}

struct JobItems: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "items", abstract: "A job's per-item outcomes, in order.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var place: JobStateOptions
    @OptionGroup var job: JobID
    @Option(help: "Only items with this outcome: ok, failed, skipped or refused.") var outcome: String?
    @Option(help: "At most this many (1..1000).") var limit = 1000
    @Option(help: "The items after this sequence number (the next_after of the previous page).") var after = 0
    @Flag(help: "Print JSON (for scripts): the API's page of items.") var json = false

    func validate() throws {
        if let outcome, JobItem.Outcome(rawValue: outcome) == nil {
            throw ValidationError("--outcome: \"\(outcome)\" must be one of ok, failed, skipped, refused")
        }
        if !(1...1000).contains(limit) { throw ValidationError("--limit: \(limit) must be 1..1000") }
    }

    func run() throws {
        let page = try place.existing(store).items(of: try job.number, after: after, limit: limit,
                                                   outcome: outcome.flatMap(JobItem.Outcome.init))
        var table = Table("SEQ", "TARGET", "OUTCOME", "ADDRESS", "DETAIL")
        for item in page.items { table.append([String(item.seq), item.target, item.outcome.rawValue, item.address, item.detail]) }
        Output.emit(ListResult(table: table, page: JobStore.page(page.items, next: page.next)), json: json)
    }
}

struct JobCancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a queued or running job: it stops after its current step.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var place: JobStateOptions
    @OptionGroup var job: JobID
    @Flag(help: "Print JSON (for scripts): the API's job.") var json = false

    func run() throws {
        let record = try place.existing(store).cancel(try job.number)
        Output.emit(ValueResult(json: record.json, text: record.state == .cancelled ? "job \(record.id): cancelled"
                                : "job \(record.id): cancel asked; it stops after its current step"), json: json)
    }
}

struct JobWait: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until a job ends and print it: exit 0 when done, 1 when it failed, was cancelled or interrupted.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var place: JobStateOptions
    @OptionGroup var job: JobID
    @Option(help: "Give up after this many seconds (exit 1).") var timeout: Double = 3600
    @Flag(help: "Print JSON (for scripts): the API's job.") var json = false

    func run() throws {
        let jobs = try place.existing(store)
        let id = try job.number
        let deadline = Date().addingTimeInterval(timeout)
        var record = try jobs.job(id)
        while !record.state.isFinal {
            guard Date() < deadline else {
                throw Failure(.runtime, "job \(id): still \(record.state.rawValue) after \(timeout) s (\(record.progressText))",
                              field: "--timeout", rule: "the job ends in time")
            }
            Thread.sleep(forTimeInterval: 0.25)
            record = try jobs.job(id)
        }
        Output.emit(ValueResult(json: record.json, text: record.text), json: json)
        if record.state != .done {
            var failure = Failure(.runtime, "job \(id): \(record.state.rawValue)")
            failure.reported = json
            throw failure
        }
    }
}
