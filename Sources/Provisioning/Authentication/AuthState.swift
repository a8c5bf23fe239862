/// What serving remembers about authentication, in a small SQLite file of its own beside the journal
/// (`auth.db`): the Digest nonces used (each `nc` of a nonce is accepted once, in increasing order, so a
/// captured answer cannot be replayed), and failed logins. Written before the answer, and only by requests that
/// carry credentials or fail them.
///
/// Failed logins are counted three ways: per account (the user name tried, from anywhere), per source address
/// (every name tried from it) and per pair (that account from that address). Past `failureLimit` failures a key
/// backs off: the next try waits `backoff(count)` seconds from the last failure, 4 s doubling up to 15 minutes,
/// so guessing slows to a crawl while a phone that mistyped once retries at once. A success clears only its own
/// account's and pair's counts, never the address's: holding one account does not buy guesses at the others.
/// A pair that has logged in before (`known`, kept 30 days) answers only to its own pair's count: a phone
/// behind a NAT is not locked out by failures of others from the same address (nor by a stranger guessing its
/// account from elsewhere). Rows no failure touched for a day are forgotten, and the tables are capped
/// (`maximumRows`), so the file stays small however many addresses or names an attacker invents.
public final class AuthState {
    let database: SQLiteDatabase

    /// Failed logins of one key before it backs off.
    public static let failureLimit = 5
    /// The longest back-off, in seconds (the first is 4 s, doubling).
    public static let failureWindow = 900
    /// A key's failures are forgotten after this many quiet seconds.
    public static let forgetAfter = 86_400
    /// A pair's successful login is remembered this long, in seconds.
    public static let knownFor = 30 * 86_400
    /// At most this many failure keys and known pairs each; the oldest go first.
    public static let maximumRows = 100_000

    static let schema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS nonces (nonce TEXT NOT NULL PRIMARY KEY, nc INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
        """
    /// Version 2: failures per key (`a:ADDRESS`, `u:USER`, `p:USER ADDRESS`), known pairs.
    static let schema2 = """
        DROP TABLE IF EXISTS failures;
        CREATE TABLE IF NOT EXISTS attempts (key TEXT NOT NULL PRIMARY KEY, count INTEGER NOT NULL, last_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS attempts_by_time ON attempts (last_at);
        CREATE TABLE IF NOT EXISTS known (user TEXT NOT NULL, address TEXT NOT NULL, last_ok INTEGER NOT NULL, PRIMARY KEY (user, address)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS known_by_time ON known (last_ok);
        """

    /// `auth.db` in the journal's folder.
    public static func path(journalPath: String) -> String {
        let folder = FilePath.directory(of: journalPath)
        return (folder == "/" ? "" : folder) + "/auth.db"
    }

    public init(path: String) throws(SQLiteError) {
        database = try SQLiteDatabase(path: path, mode: .create, busyTimeout: 250)
        try database.execute("PRAGMA synchronous = NORMAL")
        if try database.userVersion() < Self.migrator.version { try Self.migrator.migrate(database) }
    }

    /// `auth.db`'s migrator (`SQLiteMigrator`): `schema`, then `schema2`. (Its `journal_mode = WAL` runs inside
    /// the step's transaction, where SQLite leaves the mode as it is: the file has always stayed in rollback mode.)
    static let migrator: SQLiteMigrator = {
        var migrator = SQLiteMigrator(file: "auth", switchesToWAL: false)
        migrator.registerMigration("nonces", sql: schema)
        migrator.registerMigration("attempts, known", sql: schema2)
        return migrator
    }()

    /// Seconds a key with `count` failures waits after its last failure: none below `failureLimit`, then 4 s
    /// doubling, at most `failureWindow`.
    public static func backoff(_ count: Int) -> Int {
        guard count >= failureLimit else { return 0 }
        let doublings = min(count - failureLimit, 20)
        return min(failureWindow, 4 << doublings)
    }

    static func keys(user: String?, address: String) -> (address: String, user: String?, pair: String?) {
        let name = user.map { String($0.prefix(128)) }
        return ("a:" + String(address.prefix(64)), name.map { "u:" + $0 }, name.map { "p:" + $0 + " " + String(address.prefix(64)) })
    }

    func wait(_ key: String?, now: Int) throws(SQLiteError) -> Int {
        guard let key else { return 0 }
        let statement = try database.prepare("SELECT count, last_at FROM attempts WHERE key = ?1")
        try statement.bind(1, key)
        guard try statement.step() else { return 0 }
        let count = statement.int(0), last = statement.int(1)
        guard now - last < Self.forgetAfter else { return 0 }
        let remaining = last + Self.backoff(count) - now
        return max(0, remaining)
    }

    /// True when `user` has logged in from `address` within `knownFor`.
    public func isKnown(user: String, address: String, now: Int) throws(SQLiteError) -> Bool {
        let statement = try database.prepare("SELECT last_ok FROM known WHERE user = ?1 AND address = ?2")
        try statement.bind(1, String(user.prefix(128)))
        try statement.bind(2, String(address.prefix(64)))
        guard try statement.step() else { return false }
        return now - statement.int(0) < Self.knownFor
    }

    /// Seconds until `user` (nil: no name could be read) may try again from `address`, or nil when it may now.
    /// A known pair waits only for its own failures; any other for the address's, the account's and the pair's.
    public func retryAfter(user: String?, address: String, now: Int) throws(SQLiteError) -> Int? {
        let keys = Self.keys(user: user, address: address)
        var waits = [try wait(keys.pair, now: now)]
        var known = false
        if let user { known = try isKnown(user: user, address: address, now: now) }
        if !known {
            waits.append(try wait(keys.address, now: now))
            waits.append(try wait(keys.user, now: now))
        }
        let longest = waits.max() ?? 0
        return longest > 0 ? longest : nil
    }

    /// Counts a failed login of `user` from `address` against the address, the account and the pair.
    public func recordFailure(user: String?, address: String, now: Int) throws(SQLiteError) {
        let keys = Self.keys(user: user, address: address)
        let statement = try database.prepare("""
            INSERT INTO attempts (key, count, last_at) VALUES (?1, 1, ?2)
            ON CONFLICT (key) DO UPDATE SET
                count = CASE WHEN ?2 - last_at >= \(Self.forgetAfter) THEN 1 ELSE count + 1 END, last_at = ?2
            """)
        for key in [keys.address, keys.user, keys.pair].compactMap({ $0 }) {
            statement.reset()
            try statement.bind(1, key)
            try statement.bind(2, now)
            _ = try statement.step()
        }
        try prune(now: now, capped: true)
    }

    /// A successful login of `user` from `address`: its account's and pair's failures go (the address's stay),
    /// and the pair is known from now on.
    public func recordSuccess(user: String, address: String, now: Int) throws(SQLiteError) {
        let keys = Self.keys(user: user, address: address)
        let clear = try database.prepare("DELETE FROM attempts WHERE key IN (?1, ?2)")
        try clear.bind(1, keys.user)
        try clear.bind(2, keys.pair)
        _ = try clear.step()
        let known = try database.prepare("""
            INSERT INTO known (user, address, last_ok) VALUES (?1, ?2, ?3)
            ON CONFLICT (user, address) DO UPDATE SET last_ok = excluded.last_ok
            """)
        try known.bind(1, String(user.prefix(128)))
        try known.bind(2, String(address.prefix(64)))
        try known.bind(3, now)
        _ = try known.step()
        try prune(now: now)
    }

    /// Forgets quiet failure keys and old known pairs; after a failure (`capped`) also keeps each table to
    /// `maximumRows`, oldest first (a success, on a phone's path, skips the count).
    func prune(now: Int, capped: Bool = false) throws(SQLiteError) {
        try database.execute("""
            DELETE FROM attempts WHERE last_at < \(now - Self.forgetAfter);
            DELETE FROM known WHERE last_ok < \(now - Self.knownFor);
            """)
        guard capped else { return }
        try database.execute("""
            DELETE FROM attempts WHERE key IN (SELECT key FROM attempts ORDER BY last_at
                LIMIT max(0, (SELECT count(*) FROM attempts) - \(Self.maximumRows)));
            DELETE FROM known WHERE (user, address) IN (SELECT user, address FROM known ORDER BY last_ok
                LIMIT max(0, (SELECT count(*) FROM known) - \(Self.maximumRows)));
            """)
    }

    /// Records the use of `nonce` with counter `nc`; false when that counter (or a later one) was already used:
    /// a replay.
    public func useNonce(_ nonce: String, nc: Int, expires: Int, now: Int) throws(SQLiteError) -> Bool {
        try database.execute("DELETE FROM nonces WHERE expires < \(now)")
        let statement = try database.prepare("""
            INSERT INTO nonces (nonce, nc, expires) VALUES (?1, ?2, ?3)
            ON CONFLICT (nonce) DO UPDATE SET nc = excluded.nc WHERE excluded.nc > nonces.nc
            """)
        try statement.bind(1, nonce)
        try statement.bind(2, nc)
        try statement.bind(3, expires)
        _ = try statement.step()
        return database.changes == 1
    }
}
