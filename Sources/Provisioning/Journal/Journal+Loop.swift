/// The journal's part in closing the loop: the latest report per device, and the retention of `fetches` and
/// `phone_log` (pruned in small batches by the writer itself, and in full by `provctl prune`).
extension Journal {
    /// How long, and how many rows per device, `fetches` keeps: the journal's `retention` row, else the defaults.
    public struct Retention: Sendable, Equatable {
        /// Rows (and `phone_log` lines) older than this many days go. 0 keeps them regardless of age.
        public var maxAgeDays: Int
        /// Per MAC (unidentified requests count as one MAC), at most this many rows. 0: no limit.
        public var maxPerDevice: Int

        public init(maxAgeDays: Int, maxPerDevice: Int) {
            self.maxAgeDays = maxAgeDays
            self.maxPerDevice = maxPerDevice
        }

        /// 90 days, 1,000 rows per device: a phone resyncing hourly keeps six weeks, a failing one its last 1,000.
        public static let standard = Retention(maxAgeDays: 90, maxPerDevice: 1000)
    }

    /// The writer prunes after every `pruneEvery`-th row (by rowid), at most `pruneBatch` rows per rule: a short
    /// addition to a transaction it holds anyway, and never before the phone has its answer. Twice as many rows
    /// can go as come, so age pruning keeps up; 128 rows took 7 ms (median, 74 ms at worst) on a loaded 2-core
    /// machine with a million rows, 500 rows 39 ms (184 ms): other writers wait for the lock meanwhile.
    public static let pruneEvery = 64
    public static let pruneBatch = 128

    /// The retention row of the journal on `database`, else `Retention.standard`.
    public static func retention(_ database: SQLiteDatabase) throws(SQLiteError) -> Retention {
        let statement = try database.prepare("SELECT max_age_days, max_per_device FROM retention WHERE id = 1")
        guard try statement.step() else { return .standard }
        return Retention(maxAgeDays: statement.int(0), maxPerDevice: statement.int(1))
    }

    /// One batch of pruning, inside the caller's transaction: up to `batch` `fetches` rows and as many `phone_log`
    /// lines and `claims` older than the retention's age, and up to `batch` of `mac`'s oldest rows beyond its per-device
    /// limit (`mac` nil: the rows of unidentified requests). Returns the rows deleted. A writer calls it for the
    /// MAC it has just recorded, so the devices that write most are the ones most often trimmed.
    @discardableResult
    public static func prune(_ database: SQLiteDatabase, now microseconds: Int, mac: MACAddress?, batch: Int,
                             byAge: Bool = true) throws(SQLiteError) -> Int {
        let policy = try retention(database)
        var deleted = 0
        if byAge && policy.maxAgeDays > 0 {
            let cutoff = microseconds - policy.maxAgeDays * 86_400 * 1_000_000
            for table in ["fetches", "phone_log"] {
                let old = try database.prepare(
                    "DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE at < ?1 ORDER BY at LIMIT ?2)")
                try old.bind(1, cutoff)
                try old.bind(2, batch)
                try old.step()
                deleted += database.changes
            }
            // Claims (a certificate of no known device) by the time they were last made.
            let claims = try database.prepare(
                "DELETE FROM claims WHERE mac IN (SELECT mac FROM claims WHERE last_seen < ?1 LIMIT ?2)")
            try claims.bind(1, cutoff / 1_000_000)
            try claims.bind(2, batch)
            try claims.step()
            deleted += database.changes
        }
        if policy.maxPerDevice > 0 {
            let excess = try database.prepare("""
                DELETE FROM fetches WHERE id IN (SELECT id FROM fetches WHERE mac IS ?1 ORDER BY at DESC, id DESC
                    LIMIT ?3 OFFSET ?2)
                """)
            try excess.bind(1, mac?.hex)
            try excess.bind(2, policy.maxPerDevice)
            try excess.bind(3, batch)
            try excess.step()
            deleted += database.changes
        }
        return deleted
    }

    static let upsertReport = """
        INSERT INTO reports (mac, node, at, name, remote_addr, encoding, received_bytes, sha256, body)
        VALUES (?1, ?2, ?3, substr(?4, 1, 256), substr(?5, 1, 256), ?6, ?7, ?8, ?9)
        ON CONFLICT (mac) DO UPDATE SET node = excluded.node, at = excluded.at, name = excluded.name,
            remote_addr = excluded.remote_addr, encoding = excluded.encoding,
            received_bytes = excluded.received_bytes, sha256 = excluded.sha256, body = excluded.body
        """

    /// Keeps `entry`'s report as the device's latest (`JournalStatement.upsertReport`).
    func insertReport(_ entry: Bookkeeping, mac: MACAddress, on database: SQLiteDatabase) throws(SQLiteError) {
        let report = try statement(.upsertReport, on: database)
        try report.bind(1, mac.hex)
        try report.bind(2, node)
        try report.bind(3, entry.at)
        try report.bind(4, entry.reportName)
        try report.bind(5, entry.remoteAddress)
        try report.bind(6, entry.reportEncoding)
        try report.bind(7, entry.reportReceivedBytes)
        try report.bind(8, Digest.sha256Hex(entry.reportBody))
        try report.bind(9, blob: entry.reportBody)
        try report.step()
    }
}

extension Journal {
    /// The journal's connection for provctl's own writes (`phone_log`, `retention`, pruning), created with its
    /// tables when missing and migrated to this build's version, as profile-cgi would.
    public func openForAdmin(waitMilliseconds: Int32) throws(SQLiteError) -> SQLiteDatabase {
        try open(waitMilliseconds: waitMilliseconds)
    }
}
