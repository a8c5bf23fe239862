
/// The journal: what serving records, in a SQLite file of its own beside the configuration database
/// (`PROVISIONER_JOURNAL`). The configuration database is never written by serving; the journal is never
/// written by the admin, except to prune it. Each node of a fleet writes its own journal; every row names its node.
///
/// - `fetches`: one row per answered request (time, identity presented, address, path, form, status, reason, the
///   SHA-256 of the plaintext profile served, bytes, microseconds);
/// - `seen`: per device, first and last successful fetch, address, firmware, count;
/// - `claims`: per MAC, a valid certificate of no known device;
/// - `lost`: records that could not be written when they happened, folded in from `LostCounter`;
/// - `reports` (version 2): per device, the latest configuration the phone POSTed (`Report_Rule`);
/// - `phone_log` (version 2): the phone's own syslog lines about resyncs, imported by `provctl syslog`;
/// - `retention` (version 2): how long and how many `fetches` rows per device this journal keeps.
///
/// A write waits at most `waitMilliseconds` for another writer's lock, and never fails the request: a record that
/// cannot be written is counted (`LostCounter`), and `provctl check` reports both.
public final class Journal {
    public let path: String
    public let node: String
    let lost: LostCounter
    var database: SQLiteDatabase?
    /// The writer's prepared statements, by `JournalStatement.rawValue`.
    var statements: [SQLiteStatement] = []

    /// The journal's schema version (`PRAGMA user_version`).
    /// 2: `reports`, `phone_log`, `retention` (added by `migrations[0]` to a version 1 journal).
    /// 3: `fetches.trusted` (`migrations[1]`): 1 when the caller proved the identity the row names (a certificate
    /// or an account, and the device's checks passed), 0 for a caller that proved nothing (bootstrap, a factory
    /// name), NULL in rows written before version 3 (read as trusted only when a certificate was presented).
    public static let schemaVersion = 3

    /// The journal's tables; created by the first writer (profile-cgi or provctl), `IF NOT EXISTS` throughout so
    /// two first writers cannot collide.
    public static let schema = tables + migrations[0] + "PRAGMA user_version = 3;"

    /// The tables of version 1, with `fetches.trusted` (version 3) in its CREATE TABLE.
    static let tables = """
        CREATE TABLE IF NOT EXISTS fetches (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            node TEXT NOT NULL,
            mac TEXT,
            serial TEXT,
            model TEXT,
            cert_sha256 TEXT,
            cert_serial TEXT,
            firmware TEXT,
            remote_addr TEXT,
            method TEXT,
            path TEXT,
            form TEXT,
            status INTEGER NOT NULL,
            reason TEXT NOT NULL,
            sha256 TEXT,
            bytes INTEGER NOT NULL,
            micros INTEGER NOT NULL,
            trusted INTEGER
        );
        CREATE INDEX IF NOT EXISTS fetches_by_mac ON fetches (mac, at);
        CREATE INDEX IF NOT EXISTS fetches_by_at ON fetches (at);
        CREATE TABLE IF NOT EXISTS seen (
            mac TEXT NOT NULL PRIMARY KEY,
            node TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            remote_addr TEXT,
            firmware TEXT,
            count INTEGER NOT NULL DEFAULT 1
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS claims (
            mac TEXT NOT NULL PRIMARY KEY,
            node TEXT NOT NULL,
            serial TEXT,
            model TEXT,
            remote_addr TEXT,
            user_agent TEXT,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            count INTEGER NOT NULL DEFAULT 1
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS lost (
            node TEXT NOT NULL,
            what TEXT NOT NULL,
            count INTEGER NOT NULL,
            first_at INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            PRIMARY KEY (node, what)
        ) WITHOUT ROWID;
        """

    /// What brings a journal of version `index + 1` to `index + 2`; `schema` includes them all (`fetches.trusted`
    /// in its CREATE TABLE, so that running `schema` again on a journal is harmless).
    public static let migrations = [
        """
        CREATE TABLE IF NOT EXISTS reports (
            mac TEXT NOT NULL PRIMARY KEY,
            node TEXT NOT NULL,
            at INTEGER NOT NULL,
            name TEXT,
            remote_addr TEXT,
            encoding TEXT NOT NULL,
            received_bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            body BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS phone_log (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            mac TEXT NOT NULL,
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            host TEXT,
            imported_at INTEGER NOT NULL,
            UNIQUE (mac, at, message)
        );
        CREATE INDEX IF NOT EXISTS phone_log_by_at ON phone_log (at);
        CREATE TABLE IF NOT EXISTS retention (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            max_age_days INTEGER NOT NULL,
            max_per_device INTEGER NOT NULL,
            set_at INTEGER NOT NULL,
            set_by TEXT
        );

        """,
        // Version 3 (issue 19): which rows a proven caller wrote.
        """
        ALTER TABLE fetches ADD COLUMN trusted INTEGER;

        """,
    ]

    /// The journal's migrator: version 1's tables, then `migrations`; a new file runs all three steps. The
    /// first step is `schema`'s tables (which have `fetches.trusted` already), so the third adds the column
    /// only to a journal that lacks it.
    static let migrator: SQLiteMigrator = {
        var migrator = SQLiteMigrator(file: "journal")
        migrator.registerMigration("fetches, seen, claims, lost", sql: tables)
        migrator.registerMigration("reports, phone_log, retention", sql: migrations[0])
        migrator.registerMigration("fetches.trusted") { database throws(SQLiteError) in
            let check = try database.prepare("SELECT count(*) FROM pragma_table_info('fetches') WHERE name = 'trusted'")
            if try check.step(), check.int(0) == 0 { try database.execute(migrations[1]) }
        }
        return migrator
    }()

    /// What cuts a lock wait short, injected by the process's signal owner (`{ Termination.isRequested }` in the
    /// CGI and the FastCGI responder); never, by default.
    public var stopWaiting: () -> Bool = { false }

    public init(path: String, node: String) {
        self.path = path
        self.node = node
        lost = LostCounter(journalPath: path)
    }

    /// Opens (creating it and its tables when missing) the journal for writing.
    func open(waitMilliseconds: Int32) throws(SQLiteError) -> SQLiteDatabase {
        if let database {
            database.setBusyWait(waitMilliseconds, stop: stopWaiting)
            return database
        }
        let database = try SQLiteDatabase(path: path, mode: .create, busyTimeout: waitMilliseconds)
        database.setBusyWait(waitMilliseconds, stop: stopWaiting)
        // A journal newer than this build is written as it is (its tables are a superset of these).
        if try database.userVersion() < Self.schemaVersion {
            try Self.migrator.migrate(database)
            // Each step committed on its own: the log holds a few copies of the schema's pages, which every
            // later process (alone with the file, it rebuilds the log's index) would checksum until the next
            // checkpoint (+7k instructions a request, callgrind). Moved into the file now, once.
            try? database.checkpointAndTruncate()
        }
        // Bookkeeping, not configuration: a commit need not wait for fsync (WAL with synchronous=NORMAL stays
        // consistent; a power cut may lose the last rows).
        try database.execute("PRAGMA synchronous = NORMAL")
        // The journal is written at its end and read back by nobody here: a small page cache (128 KiB) keeps a
        // long-lived writer (a FastCGI responder) the same size however many rows it appends; SQLite's default
        // (2 MiB) grew one process's RSS by a fifth over 100,000 requests.
        try database.execute("PRAGMA cache_size = -128")
        self.database = database
        return database
    }

    static let insertFetch = """
        INSERT INTO fetches (at, node, mac, serial, model, cert_sha256, cert_serial, firmware, remote_addr, method,
            path, form, status, reason, sha256, bytes, micros, trusted)
        VALUES (?1, ?2, ?3, substr(?4, 1, 256), substr(?5, 1, 256), ?6, substr(?7, 1, 128), substr(?8, 1, 64),
            substr(?9, 1, 256), substr(?10, 1, 16), substr(?11, 1, 512), ?12, ?13, ?14, ?15, ?16, ?17, ?18)
        """
    static let upsertSeen = """
        INSERT INTO seen (mac, node, first_seen, last_seen, remote_addr, firmware, count)
        VALUES (?1, ?2, ?3, ?3, substr(?4, 1, 256), substr(?5, 1, 64), 1)
        ON CONFLICT (mac) DO UPDATE SET node = excluded.node, last_seen = excluded.last_seen,
            remote_addr = excluded.remote_addr, firmware = excluded.firmware, count = count + 1
        """
    static let upsertClaim = """
        INSERT INTO claims (mac, node, serial, model, remote_addr, user_agent, first_seen, last_seen, count)
        VALUES (?1, ?2, substr(?3, 1, 256), substr(?4, 1, 256), substr(?5, 1, 256), substr(?6, 1, 256), ?7, ?7, 1)
        ON CONFLICT (mac) DO UPDATE SET node = excluded.node, serial = excluded.serial, model = excluded.model,
            remote_addr = excluded.remote_addr, user_agent = excluded.user_agent,
            last_seen = excluded.last_seen, count = count + 1
        """
    static let upsertLost = """
        INSERT INTO lost (node, what, count, first_at, last_at) VALUES (?1, ?2, 1, ?3, ?3)
        ON CONFLICT (node, what) DO UPDATE SET count = count + 1, last_at = max(last_at, excluded.last_at),
            first_at = min(first_at, excluded.first_at)
        """

    /// The prepared statement `slot`, reset; prepared on first use (with the slots before it) and kept for the
    /// connection's life. (Each missing slot gets its own SQL: preparing slot 2 before slot 1 once put slot 2's
    /// SQL in both, which a long-lived writer would then run for slot 1.)
    func statement(_ slot: JournalStatement, on database: SQLiteDatabase) throws(SQLiteError) -> SQLiteStatement {
        while statements.count <= slot.rawValue, let next = JournalStatement(rawValue: statements.count) {
            statements.append(try database.prepare(next.sql))
        }
        let statement = statements[slot.rawValue]
        statement.reset()
        return statement
    }

    /// Writes the records of `entries` in one transaction. On failure nothing of them is written and the caller
    /// decides: retry later, or `countLost`. `checkpoint`: afterwards, move a large write-ahead log into the file
    /// (two fdatasyncs); a FastCGI responder says false while phones keep coming and checkpoints when idle.
    public func write(_ entries: [Bookkeeping], waitMilliseconds: Int32, checkpoint: Bool = true) throws(SQLiteError) {
        let database: SQLiteDatabase
        do {
            database = try open(waitMilliseconds: waitMilliseconds)
        } catch {
            close()
            throw error
        }
        // Lines taken from the LostCounter file; put back if the transaction does not commit (a full disk can
        // fail the COMMIT itself), so that a count is never lost with the write that was to carry it.
        var folded: [(at: Int, what: String)] = []
        do {
            try database.execute("BEGIN IMMEDIATE")
            for entry in entries { try insert(entry, on: database) }
            try foldLost(on: database, taken: &folded)
            try database.execute("COMMIT")
        } catch {
            try? database.execute("ROLLBACK")
            for (at, what) in folded { lost.count(what, now: at) }
            if !error.isBusy { close() }
            throw error
        }
        if checkpoint { try? checkpointIfLarge(database) }
    }

    func insert(_ entry: Bookkeeping, on database: SQLiteDatabase) throws(SQLiteError) {
        let fetch = try statement(.insertFetch, on: database)
        try fetch.bind(1, entry.at)
        try fetch.bind(2, node)
        try fetch.bind(3, entry.mac?.hex)
        try fetch.bind(4, entry.serial)
        try fetch.bind(5, entry.model)
        try fetch.bind(6, entry.certificateSHA256)
        try fetch.bind(7, entry.certificateSerial)
        try fetch.bind(8, entry.firmware)
        try fetch.bind(9, entry.remoteAddress)
        try fetch.bind(10, entry.method)
        try fetch.bind(11, entry.path)
        try fetch.bind(12, entry.form)
        try fetch.bind(13, entry.status)
        try fetch.bind(14, entry.reason)
        try fetch.bind(15, entry.sha256)
        try fetch.bind(16, entry.bytes)
        try fetch.bind(17, entry.microseconds)
        try fetch.bind(18, entry.trusted ? 1 : 0)
        try fetch.step()
        if database.lastInsertRowID % Self.pruneEvery == 0 {
            try Self.prune(database, now: entry.at, mac: entry.mac, batch: Self.pruneBatch)
        }
        guard let mac = entry.mac else { return }
        if entry.reportEncoding != nil { try insertReport(entry, mac: mac, on: database) }
        let seconds = entry.at / 1_000_000
        if entry.seen {
            let seen = try statement(.upsertSeen, on: database)
            try seen.bind(1, mac.hex)
            try seen.bind(2, node)
            try seen.bind(3, seconds)
            try seen.bind(4, entry.remoteAddress)
            try seen.bind(5, entry.firmware)
            try seen.step()
        }
        if entry.claim {
            let claim = try statement(.upsertClaim, on: database)
            try claim.bind(1, mac.hex)
            try claim.bind(2, node)
            try claim.bind(3, entry.serial)
            try claim.bind(4, entry.model)
            try claim.bind(5, entry.remoteAddress)
            try claim.bind(6, entry.userAgent)
            try claim.bind(7, seconds)
            try claim.step()
        }
    }

    /// Moves the losses counted outside the journal into its `lost` table (inside the caller's transaction).
    func foldLost(on database: SQLiteDatabase, taken: inout [(at: Int, what: String)]) throws(SQLiteError) {
        guard let path = lost.path, FileStamp.of(path).map({ $0.size > 0 }) == true else { return }
        let pending = lost.read(take: true)
        taken = pending
        for (at, what) in pending {
            let statement = try statement(.upsertLost, on: database)
            try statement.bind(1, node)
            try statement.bind(2, what)
            try statement.bind(3, at)
            try statement.step()
        }
    }

    /// The CGI's write, after the phone has its answer. mod_cgid holds the phone's connection until this process
    /// has ended (it sends SIGTERM once the answer is out and looks every few milliseconds), so this process never
    /// waits for another writer's lock: when the journal is busy the write is handed to a detached child process
    /// that waits up to `waitMilliseconds`, and this one ends at once. What cannot be written is counted
    /// (`countLost`).
    public func writeHandingOff(_ entries: [Bookkeeping], waitMilliseconds: Int32) {
        do {
            try write(entries, waitMilliseconds: 0)
        } catch let error where error.isBusy && waitMilliseconds > 0 {
            // A SQLite connection must not cross a fork: the child opens its own.
            close()
            guard let isChild = ProcessControl.forkDetached() else {
                countLost(entries)
                return
            }
            guard isChild else { return }
            Termination.requested = 0
            do {
                try write(entries, waitMilliseconds: waitMilliseconds)
            } catch {
                countLost(entries)
            }
            // Without closing, like the CGI itself: a close would checkpoint the log and sync the file.
            ProcessControl.exitAtOnce(0)
        } catch {
            countLost(entries)
        }
    }

    /// Counts records that will not be written: the fetch, and the seen or claim update it carried.
    public func countLost(_ entries: [Bookkeeping]) {
        for entry in entries {
            let seconds = entry.at / 1_000_000
            lost.count("fetch", now: seconds)
            if entry.seen { lost.count("seen", now: seconds) }
            if entry.claim { lost.count("claim", now: seconds) }
        }
    }

    /// Closes the connection; the next write opens it again.
    public func close() {
        statements = []
        database = nil
    }

    /// The size of write-ahead log above which the writer checkpoints it: 64 frames of 4 KB pages. A CGI process
    /// is usually alone with the file, so SQLite rebuilds the WAL index from the whole log at open, and a process
    /// that exits without closing never resets it: left alone the log grows and every request slows (measured in
    /// wave 1: 1.8 ms per request to 7.2 ms by the 1,800th, with a 7 MB log).
    static let walCheckpointBytes = 32 + 64 * (24 + 4096)

    func checkpointIfLarge(_ database: SQLiteDatabase) throws(SQLiteError) {
        guard let stamp = FileStamp.of(path + "-wal"), stamp.size > Self.walCheckpointBytes else { return }
        try database.checkpointAndTruncate()
    }
}

/// The journal writer's statements, by name: the slot each keeps in `Journal.statements` is its raw value.
enum JournalStatement: Int, CaseIterable {
    case insertFetch, upsertSeen, upsertClaim, upsertLost, upsertReport

    var sql: String {
        switch self {
        case .insertFetch: Journal.insertFetch
        case .upsertSeen: Journal.upsertSeen
        case .upsertClaim: Journal.upsertClaim
        case .upsertLost: Journal.upsertLost
        case .upsertReport: Journal.upsertReport
        }
    }
}
