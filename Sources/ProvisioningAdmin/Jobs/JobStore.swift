import Foundation
public import Provisioning

/// One job as `jobs.db` keeps it and the API answers it (`Job` in api/openapi.yaml).
public struct JobRecord: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case resync, `import`, revert, campaign }
    public enum State: String, Sendable, CaseIterable {
        case queued, running, done, failed, cancelled, interrupted
        /// A job in this state will not change any more.
        public var isFinal: Bool { self != .queued && self != .running }
    }

    /// Why a failed job failed: the members of a problem detail that apply.
    public struct Failure: Sendable, Equatable {
        public var title: String
        public var detail: String
        public var code: String
        public var field: String?
        public var rule: String?

        public init(title: String, detail: String, code: String, field: String? = nil, rule: String? = nil) {
            self.title = title
            self.detail = detail
            self.code = code
            self.field = field
            self.rule = rule
        }

        /// An engine failure as a job's error: its message and kind (never a secret: the engine masks them).
        public init(_ error: AdminError) {
            self.init(title: "Job failed", detail: error.message, code: error.kind.name, field: error.field, rule: error.rule)
        }
    }

    public var id: Int
    public var kind: Kind
    public var state: State
    public var startedBy: String
    /// ISO 8601 UTC, `2026-12-07T16:05:04Z`.
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    public var cancelRequested: Bool
    public var total: Int
    public var handled: Int
    public var ok: Int
    public var failed: Int
    public var skipped: Int
    public var changeSet: Int?
    public var error: Failure?
    /// The job's parameters (`name=value`, one a line; resync: event, via, rate, t1, address).
    public var options: [String: String]

    /// The job as the API and `provctl job show --json` print it.
    public var json: JSON {
        .object([
            ("id", .string(String(id))), ("kind", .string(kind.rawValue)), ("state", .string(state.rawValue)),
            ("progress", .object([("total", .int(total)), ("handled", .int(handled)), ("ok", .int(ok)),
                                  ("failed", .int(failed)), ("skipped", .int(skipped))])),
            ("started_by", .string(startedBy)), ("created_at", .string(createdAt)), ("started_at", .text(startedAt)),
            ("finished_at", .text(finishedAt)), ("cancel_requested", .bool(cancelRequested)),
            ("change_set", .number(changeSet)),
            ("error", error.map { error in
                .object([("title", .string(error.title)), ("detail", .string(error.detail)), ("code", .string(error.code)),
                         ("field", .text(error.field)), ("rule", .text(error.rule))])
            } ?? .null),
        ])
    }

    /// The API's address of the job.
    public var location: String { "/api/v1/jobs/\(id)" }
}

/// One item a job handled, in order (`JobItem`): for resync the members of a `provctl resync --json` entry.
public struct JobItem: Sendable, Equatable {
    public enum Outcome: String, Sendable, CaseIterable { case ok, failed, skipped, refused }
    public var seq: Int
    /// A MAC, a CSV line (`line:N`) or a change set id.
    public var target: String
    public var outcome: Outcome
    public var detail: String
    public var at: String?
    public var address: String?
    public var addressSource: String?
    public var event: String?
    public var via: String?
    public var status: Int?
    public var ms: Int?
    public var sent: Int?

    public init(seq: Int = 0, target: String, outcome: Outcome, detail: String, at: String? = nil, address: String? = nil,
                addressSource: String? = nil, event: String? = nil, via: String? = nil, status: Int? = nil, ms: Int? = nil,
                sent: Int? = nil) {
        self.seq = seq
        self.target = target
        self.outcome = outcome
        self.detail = detail
        self.at = at
        self.address = address
        self.addressSource = addressSource
        self.event = event
        self.via = via
        self.status = status
        self.ms = ms
        self.sent = sent
    }

    public var json: JSON {
        var members: [(String, JSON)] = [("seq", .int(seq)), ("target", .string(target)), ("outcome", .string(outcome.rawValue)),
                                         ("detail", .string(detail))]
        if let at { members.append(("at", .string(at))) }
        if let address { members.append(("address", .string(address))) }
        if event != nil { members.append(("address_source", .text(addressSource))) }
        if let event { members.append(("event", .string(event))) }
        if let via { members.append(("via", .string(via))) }
        if event != nil { members.append(("status", .number(status))) }
        if let ms { members.append(("ms", .int(ms))) }
        if let sent { members.append(("sent", .int(sent))) }
        return .object(members)
    }
}

/// The jobs of the admin daemon, kept in `jobs.db` in its state folder (`--state`, default the database's folder)
/// so that they survive a restart and `provctl job` reads and starts them too. Its schema goes through
/// `SQLiteMigrator`. Every call opens the file, does its work in one transaction where it writes, and closes it:
/// the daemon's runner, its request handlers and provctl share it through SQLite's locks.
public struct JobStore: Sendable {
    public let path: String

    public init(stateDirectory: String) {
        path = (stateDirectory == "/" ? "" : stateDirectory) + "/jobs.db"
    }

    public init(path: String) {
        self.path = path
    }

    /// The folder the daemon keeps its state in by default: the configuration database's.
    public static func defaultStateDirectory(databasePath: String) -> String {
        FilePath.directory(of: databasePath)
    }

    static let migrator: SQLiteMigrator = {
        // Rollback journal, not WAL: provctl (often root) opens it too, and must leave no -shm the daemon cannot open.
        var migrator = SQLiteMigrator(file: "jobs", switchesToWAL: false)
        migrator.registerMigration("jobs, items, idempotency", sql: """
            CREATE TABLE jobs (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                state TEXT NOT NULL,
                started_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                started_at TEXT,
                finished_at TEXT,
                cancel_requested INTEGER NOT NULL DEFAULT 0,
                total INTEGER NOT NULL DEFAULT 0,
                handled INTEGER NOT NULL DEFAULT 0,
                ok INTEGER NOT NULL DEFAULT 0,
                failed INTEGER NOT NULL DEFAULT 0,
                skipped INTEGER NOT NULL DEFAULT 0,
                change_set INTEGER,
                error_title TEXT, error_detail TEXT, error_code TEXT, error_field TEXT, error_rule TEXT,
                options TEXT NOT NULL DEFAULT '',
                input BLOB
            );
            CREATE INDEX jobs_by_state ON jobs (state, kind);
            CREATE TABLE job_targets (
                job_id INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                target TEXT NOT NULL,
                PRIMARY KEY (job_id, seq)
            ) WITHOUT ROWID;
            CREATE TABLE job_items (
                job_id INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                target TEXT NOT NULL,
                outcome TEXT NOT NULL,
                detail TEXT NOT NULL,
                at TEXT NOT NULL,
                address TEXT, address_source TEXT, event TEXT, via TEXT, status INTEGER, ms INTEGER, sent INTEGER,
                PRIMARY KEY (job_id, seq)
            ) WITHOUT ROWID;
            CREATE TABLE idempotency (
                key TEXT PRIMARY KEY,
                request_hash TEXT NOT NULL,
                status INTEGER NOT NULL,
                headers TEXT NOT NULL DEFAULT '',
                body BLOB,
                created_at INTEGER NOT NULL
            );
            """)
        migrator.registerMigration("campaigns", sql: CampaignStore.schema)
        return migrator
    }()

    /// Opens (creating) the file, migrated.
    func open() throws -> SQLiteDatabase {
        // An import's CSV may hold keys and HA1s until its job ends: only the daemon's user reads the file.
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        do {
            let database = try SQLiteDatabase(path: path, mode: .create, busyTimeout: 5000)
            if try database.userVersion() < Self.migrator.version { try Self.migrator.migrate(database) }
            return database
        } catch {
            throw AdminError(.runtime, "jobs \(path): \(error)", underlying: error)
        }
    }

    func sqlite<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        let database = try open()
        do {
            return try body(database)
        } catch let error as SQLiteError {
            throw AdminError(.runtime, "jobs \(path): \(error)", underlying: error)
        }
    }

    static let now = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
    static let columns = """
        id, kind, state, started_by, created_at, started_at, finished_at, cancel_requested, total, handled, ok, failed,
        skipped, change_set, error_title, error_detail, error_code, error_field, error_rule, options
        """

    static func record(_ row: SQLiteStatement) -> JobRecord {
        let error = row.text(14).map { title in
            JobRecord.Failure(title: title, detail: row.text(15) ?? "", code: row.text(16) ?? "runtime", field: row.text(17),
                              rule: row.text(18))
        }
        var options: [String: String] = [:]
        for line in (row.text(19) ?? "").split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            options[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return JobRecord(id: row.int(0), kind: JobRecord.Kind(rawValue: row.text(1) ?? "") ?? .resync,
                         state: JobRecord.State(rawValue: row.text(2) ?? "") ?? .failed, startedBy: row.text(3) ?? "",
                         createdAt: row.text(4) ?? "", startedAt: row.text(5), finishedAt: row.text(6),
                         cancelRequested: row.int(7) != 0, total: row.int(8), handled: row.int(9), ok: row.int(10),
                         failed: row.int(11), skipped: row.int(12), changeSet: row.isNull(13) ? nil : row.int(13),
                         error: error, options: options)
    }

    /// Queues a job of `kind` over `targets` (MACs, change set ids), or `.conflict` when a job of that kind is queued
    /// or running already: at most one job per kind at a time.
    public func create(kind: JobRecord.Kind, startedBy: String, targets: [String], options: [(String, String)] = [],
                       input: [UInt8]? = nil, total: Int? = nil,
                       inside: ((SQLiteDatabase, Int) throws -> Void)? = nil) throws -> JobRecord {
        try sqlite { database in
            try database.transaction {
                let busy = try database.prepare("SELECT id, state FROM jobs WHERE kind = ?1 AND state IN ('queued', 'running') LIMIT 1")
                try busy.bind(1, kind.rawValue)
                if try busy.step() {
                    throw AdminError(.conflict, "job \(busy.int(0)) of kind \(kind.rawValue) is \(busy.text(1) ?? "running"); "
                                     + "at most one job per kind runs at a time (cancel it or wait for it)",
                                     field: "kind", rule: "one_job_per_kind")
                }
                let text = options.map { "\($0.0)=\($0.1)" }.joined(separator: "\n")
                let insert = try database.prepare("""
                    INSERT INTO jobs (kind, state, started_by, created_at, total, options, input)
                    VALUES (?1, 'queued', ?2, \(Self.now), ?3, ?4, ?5)
                    """)
                try insert.bind(1, kind.rawValue)
                try insert.bind(2, startedBy)
                try insert.bind(3, total ?? targets.count)
                try insert.bind(4, text)
                if let input { try insert.bind(5, blob: input) } else { try insert.bind(5, nil as String?) }
                _ = try insert.step()
                let id = database.lastInsertRowID
                let target = try database.prepare("INSERT INTO job_targets (job_id, seq, target) VALUES (?1, ?2, ?3)")
                for (seq, value) in targets.enumerated() {
                    target.reset()
                    try target.bind(1, id)
                    try target.bind(2, seq + 1)
                    try target.bind(3, value)
                    _ = try target.step()
                }
                // What belongs with the job, written in the same transaction (a campaign's rows).
                try inside?(database, id)
                return try job(id, in: database)!
            }
        }
    }

    func job(_ id: Int, in database: SQLiteDatabase) throws(SQLiteError) -> JobRecord? {
        let statement = try database.prepare("SELECT \(Self.columns) FROM jobs WHERE id = ?1")
        try statement.bind(1, id)
        return try statement.step() ? Self.record(statement) : nil
    }

    /// The job `id`, or `.notFound`.
    public func job(_ id: Int) throws -> JobRecord {
        guard let job = try sqlite({ database in try self.job(id, in: database) }) else {
            throw AdminError(.notFound, "job \(id): no such job", field: "id", rule: "exists")
        }
        return job
    }

    /// The job a text id names (the API's and provctl's spelling), or `.notFound`.
    public func job(named text: String) throws -> JobRecord {
        guard let id = Int(text), id > 0 else { throw AdminError(.notFound, "job \(text): no such job", field: "id", rule: "exists") }
        return try job(id)
    }

    /// Jobs newest first, after the cursor `after` (an id), at most `limit`; and the cursor of the next page.
    public func jobs(after: Int? = nil, limit: Int = 100, kind: JobRecord.Kind? = nil, state: JobRecord.State? = nil)
        throws -> (jobs: [JobRecord], next: Int?) {
        try sqlite { database in
            let statement = try database.prepare("""
                SELECT \(Self.columns) FROM jobs
                WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR state = ?3)
                ORDER BY id DESC LIMIT ?4
                """)
            if let after { try statement.bind(1, after) } else { try statement.bind(1, nil as String?) }
            try statement.bind(2, kind?.rawValue)
            try statement.bind(3, state?.rawValue)
            try statement.bind(4, limit + 1)
            var jobs: [JobRecord] = []
            while try statement.step() { jobs.append(Self.record(statement)) }
            let more = jobs.count > limit
            if more { jobs.removeLast() }
            return (jobs, more ? jobs.last?.id : nil)
        }
    }

    /// A job's items in the order it handled them, after the sequence number `after`, at most `limit`.
    public func items(of id: Int, after: Int = 0, limit: Int = 100, outcome: JobItem.Outcome? = nil) throws -> (items: [JobItem], next: Int?) {
        _ = try job(id)
        return try sqlite { database in
            let statement = try database.prepare("""
                SELECT seq, target, outcome, detail, at, address, address_source, event, via, status, ms, sent FROM job_items
                WHERE job_id = ?1 AND seq > ?2 AND (?3 IS NULL OR outcome = ?3) ORDER BY seq LIMIT ?4
                """)
            try statement.bind(1, id)
            try statement.bind(2, after)
            try statement.bind(3, outcome?.rawValue)
            try statement.bind(4, limit + 1)
            var items: [JobItem] = []
            while try statement.step() {
                func number(_ column: Int32) -> Int? { statement.isNull(column) ? nil : statement.int(column) }
                items.append(JobItem(seq: statement.int(0), target: statement.text(1) ?? "",
                                     outcome: JobItem.Outcome(rawValue: statement.text(2) ?? "") ?? .failed,
                                     detail: statement.text(3) ?? "", at: statement.text(4), address: statement.text(5),
                                     addressSource: statement.text(6), event: statement.text(7), via: statement.text(8),
                                     status: number(9), ms: number(10), sent: number(11)))
            }
            let more = items.count > limit
            if more { items.removeLast() }
            return (items, more ? items.last?.seq : nil)
        }
    }

    /// Asks a job to stop: a queued one is cancelled at once, a running one after its current item. A finished job
    /// is `.conflict`.
    @discardableResult
    public func cancel(_ id: Int) throws -> JobRecord {
        try sqlite { database in
            try database.transaction {
                guard let job = try self.job(id, in: database) else {
                    throw AdminError(.notFound, "job \(id): no such job", field: "id", rule: "exists")
                }
                guard !job.state.isFinal else {
                    throw AdminError(.conflict, "job \(id) is \(job.state.rawValue) already; only a queued or running job can be cancelled",
                                     field: "state", rule: "queued_or_running")
                }
                try database.execute(job.state == .queued
                    ? "UPDATE jobs SET cancel_requested = 1, state = 'cancelled', finished_at = \(Self.now), input = NULL WHERE id = \(id)"
                    : "UPDATE jobs SET cancel_requested = 1 WHERE id = \(id)")
                if job.kind == .campaign && job.state == .queued { try CampaignStore.cancelledBeforeRunning(id, in: database) }
                return try self.job(id, in: database)!
            }
        }
    }

    /// Whether the job was asked to stop.
    public func cancelRequested(_ id: Int) throws -> Bool {
        try job(id).cancelRequested
    }

    /// Marks every running job `interrupted` (the daemon stopped while it ran: its items so far keep their
    /// outcomes); called when the runner starts. Returns their ids. A campaign is the exception: its state is in
    /// its own rows (`CampaignStore`), so its job is queued again and the campaign goes on where it stood.
    @discardableResult
    public func interruptRunning() throws -> [Int] {
        try sqlite { database in
            try database.transaction {
                try database.execute("UPDATE jobs SET state = 'queued' WHERE state = 'running' AND kind = 'campaign'")
                let statement = try database.prepare("SELECT id FROM jobs WHERE state = 'running'")
                var ids: [Int] = []
                while try statement.step() { ids.append(statement.int(0)) }
                try database.execute("UPDATE jobs SET state = 'interrupted', finished_at = \(Self.now), input = NULL WHERE state = 'running'")
                return ids
            }
        }
    }

    /// Starts the oldest queued job of each kind that has none running: `running`, its start time set.
    public func claimQueued() throws -> [JobRecord] {
        try sqlite { database in
            try database.transaction {
                let statement = try database.prepare("""
                    SELECT min(id) FROM jobs WHERE state = 'queued'
                    AND kind NOT IN (SELECT kind FROM jobs WHERE state = 'running') GROUP BY kind
                    """)
                var ids: [Int] = []
                while try statement.step() { ids.append(statement.int(0)) }
                for id in ids {
                    try database.execute("UPDATE jobs SET state = 'running', started_at = \(Self.now) WHERE id = \(id)")
                }
                var jobs: [JobRecord] = []
                for id in ids { if let job = try self.job(id, in: database) { jobs.append(job) } }
                return jobs
            }
        }
    }

    /// The job's targets in order, after the sequence number `after`.
    public func targets(of id: Int) throws -> [String] {
        try sqlite { database in
            let statement = try database.prepare("SELECT target FROM job_targets WHERE job_id = ?1 ORDER BY seq")
            try statement.bind(1, id)
            var targets: [String] = []
            while try statement.step() { targets.append(statement.text(0) ?? "") }
            return targets
        }
    }

    /// The job's input (an import's CSV).
    public func input(of id: Int) throws -> [UInt8] {
        try sqlite { database in
            let statement = try database.prepare("SELECT input FROM jobs WHERE id = ?1")
            try statement.bind(1, id)
            return try statement.step() ? statement.blob(0) : []
        }
    }

    /// Records items the job handled and counts them in its progress, in one transaction.
    public func record(_ items: [JobItem], job id: Int) throws {
        guard !items.isEmpty else { return }
        try sqlite { database in
            try database.transaction {
                let last = try database.prepare("SELECT coalesce(max(seq), 0) FROM job_items WHERE job_id = ?1")
                try last.bind(1, id)
                _ = try last.step()
                var seq = last.int(0)
                let insert = try database.prepare("""
                    INSERT INTO job_items (job_id, seq, target, outcome, detail, at, address, address_source, event, via, status, ms, sent)
                    VALUES (?1, ?2, ?3, ?4, ?5, \(Self.now), ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                    """)
                var counts = (ok: 0, failed: 0, skipped: 0)
                for item in items {
                    seq += 1
                    insert.reset()
                    try insert.bind([.integer(id), .integer(seq), .text(item.target), .text(item.outcome.rawValue), .text(item.detail)])
                    try insert.bind(6, item.address)
                    try insert.bind(7, item.addressSource)
                    try insert.bind(8, item.event)
                    try insert.bind(9, item.via)
                    for (index, number) in [item.status, item.ms, item.sent].enumerated() {
                        if let number { try insert.bind(Int32(10 + index), number) } else { try insert.bind(Int32(10 + index), nil as String?) }
                    }
                    _ = try insert.step()
                    switch item.outcome {
                    case .ok: counts.ok += 1
                    case .failed, .refused: counts.failed += 1
                    case .skipped: counts.skipped += 1
                    }
                }
                try database.execute("""
                    UPDATE jobs SET handled = handled + \(items.count), ok = ok + \(counts.ok), failed = failed + \(counts.failed),
                    skipped = skipped + \(counts.skipped) WHERE id = \(id)
                    """)
            }
        }
    }

    /// Sets a job's progress counts (a job whose items are not one per step: an import).
    public func setProgress(_ id: Int, handled: Int, ok: Int, failed: Int, skipped: Int) throws {
        try sqlite { database in
            let statement = try database.prepare("UPDATE jobs SET handled = ?2, ok = ?3, failed = ?4, skipped = ?5 WHERE id = ?1")
            try statement.bind([.integer(id), .integer(handled), .integer(ok), .integer(failed), .integer(skipped)])
            _ = try statement.step()
        }
    }

    /// Ends a job: `done`, `failed` (with its error), `cancelled` or `interrupted`. Its input (an import's CSV,
    /// secrets and all) is dropped: the change set in the history is the record of what it did.
    public func finish(_ id: Int, _ state: JobRecord.State, error: JobRecord.Failure? = nil, changeSet: Int? = nil) throws {
        try sqlite { database in
            let statement = try database.prepare("""
                UPDATE jobs SET state = ?2, finished_at = \(Self.now), error_title = ?3, error_detail = ?4, error_code = ?5,
                error_field = ?6, error_rule = ?7, change_set = coalesce(?8, change_set), input = NULL WHERE id = ?1
                """)
            try statement.bind(1, id)
            try statement.bind(2, state.rawValue)
            try statement.bind(3, error?.title)
            try statement.bind(4, error?.detail)
            try statement.bind(5, error?.code)
            try statement.bind(6, error?.field)
            try statement.bind(7, error?.rule)
            if let changeSet { try statement.bind(8, changeSet) } else { try statement.bind(8, nil as String?) }
            _ = try statement.step()
        }
    }
}

extension JobStore {
    /// A page of jobs as the API and `provctl job list --json` print it (`JobPage`).
    public static func page(_ jobs: [JobRecord], next: Int?) -> JSON {
        .object([("items", .array(jobs.map(\.json))), ("next_after", .text(next.map(String.init)))])
    }

    /// A page of a job's items as the API and `provctl job items --json` print it (`JobItemPage`).
    public static func page(_ items: [JobItem], next: Int?) -> JSON {
        .object([("items", .array(items.map(\.json))), ("next_after", .number(next))])
    }
}
