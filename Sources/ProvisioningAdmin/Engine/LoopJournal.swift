public import Provisioning

/// This node's journal maintenance, as `provctl retention`, `prune` and `syslog` use it (and an HTTP API may):
/// every statement here, none in the command.
public enum LoopJournal {
    /// Stores `policy` as this journal's retention (`provctl retention --max-age --max-per-device`).
    public static func setRetention(_ journal: SQLiteDatabase, _ policy: Journal.Retention, at seconds: Int,
                                    by user: String) throws(SQLiteError) {
        let statement = try journal.prepare("""
            INSERT INTO retention (id, max_age_days, max_per_device, set_at, set_by) VALUES (1, ?1, ?2, ?3, ?4)
            ON CONFLICT (id) DO UPDATE SET max_age_days = excluded.max_age_days,
                max_per_device = excluded.max_per_device, set_at = excluded.set_at, set_by = excluded.set_by
            """)
        try statement.bind(1, policy.maxAgeDays)
        try statement.bind(2, policy.maxPerDevice)
        try statement.bind(3, seconds)
        try statement.bind(4, user)
        _ = try statement.step()
    }

    /// What one full prune did.
    public struct PruneResult: Sendable, Equatable {
        public var deleted: Int
        public var policy: Journal.Retention
    }

    /// Prunes everything the retention no longer keeps, at most `batch` rows per `BEGIN IMMEDIATE` transaction so
    /// that profile-cgi's writes slip in between: by age for every device, then each device over the per-device
    /// limit (read once) in batches.
    public static func pruneAll(_ journal: SQLiteDatabase, now microseconds: Int, batch: Int) throws(SQLiteError) -> PruneResult {
        var deleted = 0
        func inTransaction(_ body: () throws(SQLiteError) -> Int) throws(SQLiteError) -> Int {
            try journal.execute("BEGIN IMMEDIATE")
            do {
                let count = try body()
                try journal.execute("COMMIT")
                return count
            } catch {
                try? journal.execute("ROLLBACK")
                throw error
            }
        }
        while true {
            let count = try inTransaction { () throws(SQLiteError) in
                try Journal.prune(journal, now: microseconds, mac: nil, batch: batch, byAge: true)
            }
            deleted += count
            if count == 0 { break }
        }
        let policy = try Journal.retention(journal)
        if policy.maxPerDevice > 0 {
            let over = try journal.prepare("SELECT mac FROM fetches GROUP BY mac HAVING count(*) > ?1")
            try over.bind(1, policy.maxPerDevice)
            var macs: [String?] = []
            while try over.step() { macs.append(over.text(0)) }
            for mac in macs {
                while true {
                    let count = try inTransaction { () throws(SQLiteError) in
                        try Journal.prune(journal, now: microseconds, mac: mac.flatMap { MACAddress($0) }, batch: batch, byAge: false)
                    }
                    deleted += count
                    if count == 0 { break }
                }
            }
        }
        return PruneResult(deleted: deleted, policy: policy)
    }

    /// What storing a syslog file's lines did.
    public struct PhoneLinesStored: Sendable, Equatable {
        /// The lines kept (a proven address or a relay), each device's time clamped to now.
        public var attached: [PhoneLine]
        /// How many of them were new to the journal (the same line imported again adds nothing).
        public var added: Int
        /// Lines dropped: their host is neither the device's proven address nor a relay.
        public var unproven: Int
    }

    /// How far ahead of now a line's time may be before it is taken as now: 5 minutes.
    public static let futureSkew = 300_000_000

    /// Stores the phones' syslog `lines` in `journal` (`provctl syslog`): only a line whose host is its device's
    /// proven address (its last certificate or account fetch, or its `seen` row) or one of `relays` is kept; a
    /// time more than `futureSkew` ahead of `now` is taken as now; inserted in short transactions of 500 (profile-cgi
    /// writes the same journal); then each device keeps its newest `maxPerDevice` lines of the retention.
    public static func storePhoneLines(_ lines: [PhoneLine], store: ConfigurationEditor, journal: SQLiteDatabase, relays: [String],
                                       now imported: Int) throws(SQLiteError) -> PhoneLinesStored {
        let macs = Array(Set(lines.map(\.mac)))
        var proven: [MACAddress: Set<String>] = [:]
        for (mac, fetch) in try store.journal.lastFetch(macs) { if let address = fetch.remoteAddress { proven[mac, default: []].insert(address) } }
        for mac in macs { if let address = try store.journal.seen(mac: mac)?.remoteAddress { proven[mac, default: []].insert(address) } }
        let relaySet = Set(relays)
        var unproven = 0
        let kept = lines.compactMap { line -> PhoneLine? in
            guard let host = line.host, relaySet.contains(host) || proven[line.mac]?.contains(host) == true else {
                unproven += 1
                return nil
            }
            var kept = line
            if kept.at > imported + futureSkew { kept.at = imported }
            return kept
        }
        let cap = try Journal.retention(journal).maxPerDevice
        var added = 0
        for chunk in stride(from: 0, to: kept.count, by: 500) {
            try journal.execute("BEGIN IMMEDIATE")
            do throws(SQLiteError) {
                let insert = try journal.prepare("""
                    INSERT OR IGNORE INTO phone_log (at, mac, kind, message, host, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    """)
                for line in kept[chunk..<min(chunk + 500, kept.count)] {
                    insert.reset()
                    try insert.bind(1, line.at)
                    try insert.bind(2, line.mac.hex)
                    try insert.bind(3, line.kind)
                    try insert.bind(4, line.message)
                    try insert.bind(5, line.host)
                    try insert.bind(6, imported)
                    _ = try insert.step()
                    added += journal.changes
                }
                try journal.execute("COMMIT")
            } catch {
                try? journal.execute("ROLLBACK")
                throw error
            }
        }
        if cap > 0 {
            let trim = try journal.prepare("""
                DELETE FROM phone_log WHERE mac = ?1 AND id NOT IN (SELECT id FROM phone_log WHERE mac = ?1 ORDER BY at DESC, id DESC LIMIT ?2)
                """)
            for mac in Set(kept.map(\.mac)) {
                trim.reset()
                try trim.bind(1, mac.hex)
                try trim.bind(2, cap)
                _ = try trim.step()
            }
        }
        return PhoneLinesStored(attached: kept, added: added, unproven: unproven)
    }
}
