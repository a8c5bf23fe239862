import Foundation
public import Provisioning

/// One campaign as `jobs.db` keeps it and the API answers it (`Campaign` in api/openapi.yaml). Its id is its
/// job's (kind `campaign`).
public struct CampaignRecord: Sendable {
    public struct Wave: Sendable, Equatable {
        public var index: Int
        public var name: String
        public var percent: Int?
        /// `waiting` (not started), `running`, `passed`, `halted`.
        public var state: String
        /// Unix microseconds.
        public var startedAt: Int?
        public var deadline: Int?
        public var endedAt: Int?
        public var changeSet: Int?
        public var counts: WaveCounts
    }

    public var id: Int
    public var state: CampaignState
    public var spec: CampaignSpec
    public var job: JobRecord
    /// The wave running or last run (index into `waves`), nil before the first.
    public var wave: Int?
    /// An admin's action not taken yet by the daemon, and who asked it.
    public var requested: CampaignState.Action?
    public var requestedBy: String?
    /// Why it halted (or how it ended).
    public var reason: String?
    /// The history's user of its changes: `campaign:ID by WHO`.
    public var who: String
    /// When it was paused (Unix microseconds): the current wave's window stands still from then.
    public var pausedAt: Int?
    public var updatedAt: String
    public var waves: [Wave]
    /// Devices that have not started (their wave has not come).
    public var notStarted: Int

    public var counts: WaveCounts {
        waves.reduce(WaveCounts(devices: 0, succeeded: 0, failed: 0)) {
            WaveCounts(devices: $0.devices + $1.counts.devices, succeeded: $0.succeeded + $1.counts.succeeded, failed: $0.failed + $1.counts.failed)
        }
    }

    public var location: String { "/api/v1/campaigns/\(id)" }

    /// The campaign as the API and `provctl campaign status --json` print it.
    public var json: JSON {
        let total = counts
        return .object([
            ("id", .string(String(id))), ("state", .string(state.rawValue)), ("job", job.json),
            ("started_by", .string(job.startedBy)), ("created_at", .string(job.createdAt)), ("updated_at", .string(updatedAt)),
            ("reason", .text(reason)), ("requested", .text(requested?.rawValue)), ("requested_by", .text(requestedBy)),
            ("options", spec.json),
            ("progress", .object([("devices", .int(total.devices)), ("succeeded", .int(total.succeeded)), ("failed", .int(total.failed)),
                                  ("waiting", .int(total.waiting - notStarted)), ("not_started", .int(notStarted))])),
            ("current_wave", .number(wave)),
            ("waves", .array(waves.map { wave in
                .object([("wave", .int(wave.index)), ("name", .string(wave.name)), ("percent", .number(wave.percent)),
                         ("state", .string(wave.state)), ("devices", .int(wave.counts.devices)),
                         ("succeeded", .int(wave.counts.succeeded)), ("failed", .int(wave.counts.failed)),
                         ("waiting", .int(wave.state == "waiting" ? 0 : wave.counts.waiting)),
                         ("started_at", .text(wave.startedAt.map(CampaignStore.iso))), ("deadline", .text(wave.deadline.map(CampaignStore.iso))),
                         ("ended_at", .text(wave.endedAt.map(CampaignStore.iso))), ("change_set", .number(wave.changeSet))])
            })),
        ])
    }
}

/// One device of a campaign (`CampaignDevice`).
public struct CampaignDevice: Sendable, Equatable {
    /// `not_started` (its wave has not come), `waiting`, `succeeded`, `failed`.
    public var mac: String
    public var wave: Int
    public var outcome: String
    public var detail: String
    /// What the push of its wave did (`ok: 200 OK`, `skipped: ...`).
    public var pushed: String?
    /// Unix microseconds of the outcome.
    public var at: Int?

    public var json: JSON {
        .object([("mac", .string(mac)), ("wave", .int(wave)), ("outcome", .string(outcome)), ("detail", .string(detail)),
                 ("pushed", .text(pushed)), ("at", .text(at.map(CampaignStore.iso)))])
    }
}

/// The campaigns of the admin daemon, in `jobs.db` beside their jobs (the tables of the migration `campaigns`).
/// Every call opens the file and closes it, as `JobStore` does: the daemon's worker, its handlers and provctl share it.
public struct CampaignStore: Sendable {
    public let jobs: JobStore

    public init(jobs: JobStore) { self.jobs = jobs }

    static let schema = """
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            state TEXT NOT NULL,
            wave INTEGER,
            requested TEXT,
            requested_by TEXT,
            reason TEXT,
            who TEXT NOT NULL,
            paused_at INTEGER,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE campaign_waves (
            campaign_id INTEGER NOT NULL,
            wave INTEGER NOT NULL,
            name TEXT NOT NULL,
            percent INTEGER,
            state TEXT NOT NULL,
            started_at INTEGER,
            deadline INTEGER,
            ended_at INTEGER,
            change_set INTEGER,
            PRIMARY KEY (campaign_id, wave)
        ) WITHOUT ROWID;
        CREATE TABLE campaign_devices (
            campaign_id INTEGER NOT NULL,
            mac TEXT NOT NULL,
            wave INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            pushed TEXT,
            at INTEGER,
            PRIMARY KEY (campaign_id, mac)
        ) WITHOUT ROWID;
        CREATE INDEX campaign_devices_by_wave ON campaign_devices (campaign_id, wave, outcome);
        """

    /// `2026-12-07T16:05:04Z` of Unix microseconds.
    public static func iso(_ micros: Int) -> String {
        var seconds = time_t(micros / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// Queues a campaign over `waves` (its job and its rows in one transaction): `.conflict` when a campaign's job
    /// is queued or running (one campaign at a time; a paused or halted one still holds its job).
    public func create(_ spec: CampaignSpec, waves: [WavePlanner.Wave], who: String, startedBy: String) throws -> CampaignRecord {
        let macs = waves.flatMap(\.macs)
        let job = try jobs.create(kind: .campaign, startedBy: startedBy, targets: macs.map(\.hex), options: spec.options + [("who", who)],
                                  total: macs.count) { database, id in
            let insert = try database.prepare("""
                INSERT INTO campaigns (id, state, who, updated_at) VALUES (?1, 'running', ?2, \(JobStore.now))
                """)
            try insert.bind([.integer(id), .text("campaign:\(id) by \(who)")])
            _ = try insert.step()
            let wave = try database.prepare("INSERT INTO campaign_waves (campaign_id, wave, name, percent, state) VALUES (?1, ?2, ?3, ?4, 'waiting')")
            let device = try database.prepare("INSERT INTO campaign_devices (campaign_id, mac, wave, outcome) VALUES (?1, ?2, ?3, 'not_started')")
            for (index, planned) in waves.enumerated() {
                wave.reset()
                try wave.bind([.integer(id), .integer(index), .text(planned.name), planned.percent.map { SQLiteValue.integer($0) } ?? .null])
                _ = try wave.step()
                for mac in planned.macs {
                    device.reset()
                    try device.bind([.integer(id), .text(mac.hex), .integer(index)])
                    _ = try device.step()
                }
            }
        }
        return try campaign(job.id)
    }

    /// The campaign `id`, or `.notFound`.
    public func campaign(_ id: Int) throws -> CampaignRecord {
        try jobs.sqlite { database in
            guard let record = try self.campaign(id, in: database) else {
                throw AdminError(.notFound, "campaign \(id): no such campaign", field: "id", rule: "exists")
            }
            return record
        }
    }

    /// The campaign a text id names (the API's and provctl's spelling), or `.notFound`.
    public func campaign(named text: String) throws -> CampaignRecord {
        guard let id = Int(text), id > 0 else { throw AdminError(.notFound, "campaign \(text): no such campaign", field: "id", rule: "exists") }
        return try campaign(id)
    }

    func campaign(_ id: Int, in database: SQLiteDatabase) throws -> CampaignRecord? {
        guard let job = try jobs.job(id, in: database), job.kind == .campaign else { return nil }
        let row = try database.prepare("SELECT state, wave, requested, requested_by, reason, who, paused_at, updated_at FROM campaigns WHERE id = ?1")
        try row.bind(1, id)
        guard try row.step() else { return nil }
        var record = CampaignRecord(
            id: id, state: CampaignState(rawValue: row.text(0) ?? "") ?? .halted, spec: CampaignSpec(options: job.options), job: job,
            wave: row.isNull(1) ? nil : row.int(1), requested: row.text(2).flatMap(CampaignState.Action.init(rawValue:)),
            requestedBy: row.text(3), reason: row.text(4), who: row.text(5) ?? "", pausedAt: row.isNull(6) ? nil : row.int(6),
            updatedAt: row.text(7) ?? "", waves: [], notStarted: 0)
        let waves = try database.prepare("""
            SELECT w.wave, w.name, w.percent, w.state, w.started_at, w.deadline, w.ended_at, w.change_set,
                   (SELECT count(*) FROM campaign_devices d WHERE d.campaign_id = w.campaign_id AND d.wave = w.wave),
                   (SELECT count(*) FROM campaign_devices d WHERE d.campaign_id = w.campaign_id AND d.wave = w.wave AND d.outcome = 'succeeded'),
                   (SELECT count(*) FROM campaign_devices d WHERE d.campaign_id = w.campaign_id AND d.wave = w.wave AND d.outcome = 'failed')
            FROM campaign_waves w WHERE w.campaign_id = ?1 ORDER BY w.wave
            """)
        try waves.bind(1, id)
        func number(_ column: Int32) -> Int? { waves.isNull(column) ? nil : waves.int(column) }
        while try waves.step() {
            record.waves.append(CampaignRecord.Wave(
                index: waves.int(0), name: waves.text(1) ?? "", percent: number(2), state: waves.text(3) ?? "waiting",
                startedAt: number(4), deadline: number(5), endedAt: number(6), changeSet: number(7),
                counts: WaveCounts(devices: waves.int(8), succeeded: waves.int(9), failed: waves.int(10))))
        }
        record.notStarted = record.waves.filter { $0.state == "waiting" }.reduce(0) { $0 + $1.counts.waiting }
        return record
    }

    /// Campaigns newest first, after the cursor `after` (an id), at most `limit`; and the cursor of the next page.
    public func campaigns(after: Int? = nil, limit: Int = 100) throws -> (campaigns: [CampaignRecord], next: Int?) {
        try jobs.sqlite { database in
            let statement = try database.prepare("SELECT id FROM campaigns WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2")
            try statement.bind([after.map { SQLiteValue.integer($0) } ?? .null, .integer(limit + 1)])
            var ids: [Int] = []
            while try statement.step() { ids.append(statement.int(0)) }
            let more = ids.count > limit
            if more { ids.removeLast() }
            return (try ids.compactMap { try self.campaign($0, in: database) }, more ? ids.last : nil)
        }
    }

    /// A campaign's devices ordered by wave and MAC, after the cursor `after` (a MAC), at most `limit`.
    public func devices(of id: Int, after: String? = nil, limit: Int = 100, outcome: String? = nil, wave: Int? = nil)
        throws -> (devices: [CampaignDevice], next: String?) {
        _ = try campaign(id)
        return try jobs.sqlite { database in
            let cursor = after.flatMap(Self.cursor)
            if after != nil && cursor == nil {
                throw AdminError(.usage, "after: \"\(after!)\" is not a cursor (use next_after)", field: "after", rule: "cursor")
            }
            let statement = try database.prepare("""
                SELECT mac, wave, outcome, detail, pushed, at FROM campaign_devices
                WHERE campaign_id = ?1 AND (?2 IS NULL OR wave > ?2 OR (wave = ?2 AND mac > ?3))
                AND (?4 IS NULL OR outcome = ?4) AND (?5 IS NULL OR wave = ?5)
                ORDER BY wave, mac LIMIT ?6
                """)
            try statement.bind([.integer(id), cursor.map { .integer($0.0) } ?? .null, .text(cursor?.1 ?? ""),
                                outcome.map { SQLiteValue.text($0) } ?? .null, wave.map { SQLiteValue.integer($0) } ?? .null, .integer(limit + 1)])
            var devices: [CampaignDevice] = []
            while try statement.step() {
                devices.append(CampaignDevice(mac: statement.text(0) ?? "", wave: statement.int(1), outcome: statement.text(2) ?? "",
                                              detail: statement.text(3) ?? "", pushed: statement.text(4),
                                              at: statement.isNull(5) ? nil : statement.int(5)))
            }
            let more = devices.count > limit
            if more { devices.removeLast() }
            return (devices, more ? devices.last.map { "\($0.wave):\($0.mac)" } : nil)
        }
    }

    /// A devices page's cursor: (wave, MAC) of the last row, spelt `WAVE:MAC`.
    static func cursor(_ text: String) -> (Int, String)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let wave = Int(parts[0]), wave >= 0, let mac = MACAddress(parts[1]), mac.hex == parts[1] else { return nil }
        return (wave, mac.hex)
    }

    /// A campaign whose job was cancelled while queued never ran its action: a campaign not ended is aborted then,
    /// one that ended keeps its state (the rollback asked is dropped). Inside `JobStore.cancel`'s transaction.
    static func cancelledBeforeRunning(_ id: Int, in database: SQLiteDatabase) throws {
        try database.execute("""
            UPDATE campaigns SET state = CASE WHEN state IN ('running', 'paused', 'halted') THEN 'aborted' ELSE state END,
            reason = CASE WHEN state IN ('running', 'paused', 'halted') THEN 'aborted: its job was cancelled before it ran' ELSE reason END,
            requested = NULL, requested_by = NULL, updated_at = \(JobStore.now) WHERE id = \(id)
            """)
    }

    /// Whether `text` is a devices page's cursor (`next_after`).
    public static func isCursor(_ text: String) -> Bool { cursor(text) != nil }

    /// Asks the daemon for `action` (it takes it within a second): `.conflict` when the state does not allow it
    /// or another action waits. Rolling back a campaign that ended (done, aborted) queues its job again.
    @discardableResult
    public func request(_ id: Int, _ action: CampaignState.Action, by who: String) throws -> CampaignRecord {
        try jobs.sqlite { database in
            try database.transaction {
                guard let record = try self.campaign(id, in: database) else {
                    throw AdminError(.notFound, "campaign \(id): no such campaign", field: "id", rule: "exists")
                }
                try check(record, action)
                if record.job.state.isFinal {
                    // The job ended (the campaign ended and is rolled back now; or its job failed): it runs again.
                    let busy = try database.prepare("SELECT id FROM jobs WHERE kind = 'campaign' AND state IN ('queued', 'running') LIMIT 1")
                    if try busy.step() {
                        throw AdminError(.conflict, "campaign \(busy.int(0)) is running; one campaign at a time (abort it or wait)",
                                         field: "kind", rule: "one_job_per_kind")
                    }
                    try database.execute("""
                        UPDATE jobs SET state = 'queued', finished_at = NULL, cancel_requested = 0, error_title = NULL,
                        error_detail = NULL, error_code = NULL, error_field = NULL, error_rule = NULL WHERE id = \(id)
                        """)
                }
                let update = try database.prepare("""
                    UPDATE campaigns SET requested = ?2, requested_by = ?3, updated_at = \(JobStore.now) WHERE id = ?1
                    """)
                try update.bind([.integer(id), .text(action.rawValue), .text(who)])
                _ = try update.step()
                return try self.campaign(id, in: database)!
            }
        }
    }
}

extension CampaignStore {
    /// Whether `action` may be asked of `record` now: `.conflict` when another action waits or the state does not
    /// allow it (the API's dry run asks only this).
    public func check(_ record: CampaignRecord, _ action: CampaignState.Action) throws {
        if let waiting = record.requested {
            throw AdminError(.conflict, "campaign \(record.id): \(waiting.rawValue) was asked already and is not taken yet",
                             field: "requested", rule: "one_action_at_a_time")
        }
        _ = try record.state.after(action)
    }
}

/// The worker's writes.
extension CampaignStore {
    func execute(_ sql: String, _ values: [SQLiteValue]) throws {
        try jobs.sqlite { database in
            let statement = try database.prepare(sql)
            try statement.bind(values)
            _ = try statement.step()
        }
    }

    /// Sets the state (and the reason, when given), taking the waiting request if `clearing`.
    func set(_ id: Int, state: CampaignState, reason: String? = nil, clearing: Bool = false, pausedAt: Int? = nil) throws {
        try execute("""
            UPDATE campaigns SET state = ?2, reason = coalesce(?3, reason), paused_at = ?4,
            requested = CASE WHEN ?5 THEN NULL ELSE requested END, requested_by = CASE WHEN ?5 THEN NULL ELSE requested_by END,
            updated_at = \(JobStore.now) WHERE id = ?1
            """, [.integer(id), .text(state.rawValue), reason.map { SQLiteValue.text($0) } ?? .null, pausedAt.map { SQLiteValue.integer($0) } ?? .null,
                  .integer(clearing ? 1 : 0)])
    }

    func clearRequest(_ id: Int) throws {
        try execute("UPDATE campaigns SET requested = NULL, requested_by = NULL, updated_at = \(JobStore.now) WHERE id = ?1", [.integer(id)])
    }

    func startWave(_ id: Int, wave: Int, changeSet: Int?, startedAt: Int, deadline: Int) throws {
        try jobs.sqlite { database in
            try database.transaction {
                let statement = try database.prepare("""
                    UPDATE campaign_waves SET state = 'running', started_at = ?3, deadline = ?4, change_set = ?5 WHERE campaign_id = ?1 AND wave = ?2
                    """)
                try statement.bind([.integer(id), .integer(wave), .integer(startedAt), .integer(deadline), changeSet.map { SQLiteValue.integer($0) } ?? .null])
                _ = try statement.step()
                try database.execute("UPDATE campaign_devices SET outcome = 'waiting' WHERE campaign_id = \(id) AND wave = \(wave)")
                try database.execute("UPDATE campaigns SET wave = \(wave), updated_at = \(JobStore.now) WHERE id = \(id)")
            }
        }
    }

    func endWave(_ id: Int, wave: Int, state: String, at: Int) throws {
        try execute("UPDATE campaign_waves SET state = ?3, ended_at = ?4 WHERE campaign_id = ?1 AND wave = ?2",
                    [.integer(id), .integer(wave), .text(state), .integer(at)])
    }

    /// Moves the running wave's deadline by `seconds` micro (a pause's length).
    func extendDeadline(_ id: Int, wave: Int, by micros: Int) throws {
        try execute("UPDATE campaign_waves SET deadline = deadline + ?3 WHERE campaign_id = ?1 AND wave = ?2",
                    [.integer(id), .integer(wave), .integer(micros)])
    }

    /// The wave's devices with their outcome and push so far.
    func devices(of id: Int, wave: Int) throws -> [CampaignDevice] {
        try jobs.sqlite { database in
            let statement = try database.prepare("""
                SELECT mac, wave, outcome, detail, pushed, at FROM campaign_devices WHERE campaign_id = ?1 AND wave = ?2 ORDER BY mac
                """)
            try statement.bind([.integer(id), .integer(wave)])
            var devices: [CampaignDevice] = []
            while try statement.step() {
                devices.append(CampaignDevice(mac: statement.text(0) ?? "", wave: statement.int(1), outcome: statement.text(2) ?? "",
                                              detail: statement.text(3) ?? "", pushed: statement.text(4),
                                              at: statement.isNull(5) ? nil : statement.int(5)))
            }
            return devices
        }
    }

    func setPushed(_ id: Int, mac: String, _ text: String) throws {
        try execute("UPDATE campaign_devices SET pushed = ?3 WHERE campaign_id = ?1 AND mac = ?2", [.integer(id), .text(mac), .text(text)])
    }

    func setOutcome(_ id: Int, mac: String, outcome: String, detail: String, at: Int) throws {
        try execute("UPDATE campaign_devices SET outcome = ?3, detail = ?4, at = ?5 WHERE campaign_id = ?1 AND mac = ?2",
                    [.integer(id), .text(mac), .text(outcome), .text(detail), .integer(at)])
    }
}

extension CampaignStore {
    /// A page of campaigns as the API and `provctl campaign status --json` (no id) print it (`CampaignPage`).
    public static func page(_ campaigns: [CampaignRecord], next: Int?) -> JSON {
        .object([("items", .array(campaigns.map(\.json))), ("next_after", .text(next.map(String.init)))])
    }

    /// One campaign with a page of its devices (`CampaignDetail`).
    public static func detail(_ campaign: CampaignRecord, devices: [CampaignDevice], next: String?) -> JSON {
        guard case .object(let members) = campaign.json else { return campaign.json }
        return .object(members + [("devices", .object([("items", .array(devices.map(\.json))), ("next_after", .text(next))]))])
    }

    /// The dry run's answer (`CampaignPreview`): the waves it would make, the first 1000 MACs of each.
    public static func preview(_ waves: [WavePlanner.Wave], spec: CampaignSpec) -> JSON {
        .object([
            ("result", .string("dry_run")), ("devices", .int(waves.reduce(0) { $0 + $1.macs.count })), ("options", spec.json),
            ("waves", .array(waves.enumerated().map { index, wave in
                .object([("wave", .int(index)), ("name", .string(wave.name)), ("percent", .number(wave.percent)),
                         ("devices", .int(wave.macs.count)), ("macs", .array(wave.macs.prefix(1000).map { .string($0.hex) })),
                         ("seconds", .int((wave.macs.count + spec.rate - 1) / spec.rate))])
            })),
        ])
    }
}

extension CampaignStore {
    /// Puts a running campaign's job back in the queue (the daemon is stopping; it goes on at the next start).
    func requeue(_ id: Int) throws {
        try execute("UPDATE jobs SET state = 'queued' WHERE id = ?1 AND state = 'running'", [.integer(id)])
    }
}

extension CampaignStore {
    /// Whether an admin's action (or a cancel of the job) waits: a push stops between batches to take it.
    func actionWaits(_ id: Int) throws -> Bool {
        try jobs.sqlite { database in
            let statement = try database.prepare("""
                SELECT (SELECT requested IS NOT NULL FROM campaigns WHERE id = ?1) OR (SELECT cancel_requested FROM jobs WHERE id = ?1)
                """)
            try statement.bind(1, id)
            return try statement.step() && statement.int(0) != 0
        }
    }
}
