
/// HTTP authentication for phones without a unique certificate: the `Authorization` header they answer a 401
/// with, `[--uid u --pwd p]` in their rule (FACTS.md §2).
///
/// The CGI checks it, not Apache (`CGIPassAuth On` hands the header over): what a caller gets depends on how well
/// it proved who it is (certificate, account, nothing), which Apache's `Require` cannot express per request,
/// and the account is read from the same read-only configuration database, in the same transaction, as the
/// device it unlocks. Passwords are stored only as HA1 = MD5(user:realm:password).
public enum HTTPAuthorization: Sendable, Equatable {
    case basic(user: String, password: String)
    case digest(DigestResponse)

    /// Parses `Basic <base64>` or `Digest k=v, k="v", ...`; nil for any other scheme or a malformed header.
    public init?(_ header: String) {
        var text = Substring(header)
        while text.first == " " { text = text.dropFirst() }
        guard let space = text.firstIndex(of: " ") else { return nil }
        let scheme = text[..<space].lowercased()
        let rest = text[text.index(after: space)...]
        switch scheme {
        case "basic":
            guard let decoded = Base64.decode(String(rest).trimmingSpaces),
                  let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            self = .basic(user: String(decoding: decoded[..<colon], as: UTF8.self),
                          password: String(decoding: decoded[(colon + 1)...], as: UTF8.self))
        case "digest":
            guard let response = DigestResponse(parameters: String(rest)) else { return nil }
            self = .digest(response)
        default:
            return nil
        }
    }
}

/// The fields of a Digest `Authorization` header (RFC 7616 §3.4).
public struct DigestResponse: Sendable, Equatable {
    public var user: String
    public var realm: String
    public var nonce: String
    public var uri: String
    public var response: String
    public var qop: String?
    public var nc: String?
    public var cnonce: String?
    public var algorithm: String?

    /// Reads `k=v` pairs separated by commas; values may be quoted (with `\` escapes).
    init?(parameters text: String) {
        var fields: [String: String] = [:]
        let bytes = Array(text.utf8)
        var index = 0
        func skipSpaces() { while index < bytes.count && (bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == UInt8(ascii: ",")) { index += 1 } }
        while true {
            skipSpaces()
            guard index < bytes.count else { break }
            let keyStart = index
            while index < bytes.count && bytes[index] != UInt8(ascii: "=") { index += 1 }
            guard index < bytes.count else { return nil }
            let key = String(decoding: bytes[keyStart..<index], as: UTF8.self).trimmingSpaces.lowercased()
            index += 1
            var value: [UInt8] = []
            if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                index += 1
                while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") && index + 1 < bytes.count { index += 1 }
                    value.append(bytes[index])
                    index += 1
                }
                guard index < bytes.count else { return nil }
                index += 1
            } else {
                while index < bytes.count && bytes[index] != UInt8(ascii: ",") { value.append(bytes[index]); index += 1 }
            }
            fields[key] = String(decoding: value, as: UTF8.self).trimmingSpaces
        }
        guard let user = fields["username"], let realm = fields["realm"], let nonce = fields["nonce"],
              let uri = fields["uri"], let response = fields["response"] else { return nil }
        self.user = user
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response.lowercased()
        qop = fields["qop"]
        nc = fields["nc"]
        cnonce = fields["cnonce"]
        algorithm = fields["algorithm"]
    }

    /// The response the client should have sent for an account with `ha1` (RFC 7616 §3.4.1; RFC 2069 without
    /// qop): MD5(HA1:nonce:nc:cnonce:qop:HA2), HA2 = MD5(method:uri).
    public func expected(ha1: String, method: String) -> String {
        let ha2 = Digest.md5Hex(Array("\(method):\(uri)".utf8))
        if let qop {
            return Digest.md5Hex(Array("\(ha1):\(nonce):\(nc ?? ""):\(cnonce ?? ""):\(qop):\(ha2)".utf8))
        }
        return Digest.md5Hex(Array("\(ha1):\(nonce):\(ha2)".utf8))
    }
}

/// The account side: HA1, password checks, and the server's Digest nonces.
public enum AccountCheck {
    /// HA1 = MD5(user:realm:password), what a device's account stores.
    public static func ha1(user: String, realm: String, password: String) -> String {
        Digest.md5Hex(Array("\(user):\(realm):\(password)".utf8))
    }

    /// Equal in time independent of where they differ.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<x.count { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    /// How long a nonce is accepted, in seconds.
    public static let nonceLifetime = 300

    /// A nonce: the issue time (16 hex digits), 8 random bytes (16 hex digits: two challenges in the same second
    /// differ) and an HMAC-SHA-256 of both and the client's address under the server's key (32 hex digits). The
    /// server keeps nothing to issue one; `AuthState` remembers which were used.
    public static func nonce(key: [UInt8], time: Int, address: String, random: [UInt8]? = nil) -> String {
        var stamp = ""
        var rest = UInt64(max(time, 0))
        for _ in 0..<16 {
            stamp = String(decoding: [Array("0123456789abcdef".utf8)[Int(rest & 15)]], as: UTF8.self) + stamp
            rest >>= 4
        }
        let salt = Digest.hex(random ?? ((try? OpenSSLEnc.randomBytes(8)) ?? [UInt8](repeating: 0, count: 8)))
        let mac = HMACSHA256.mac(key: key, Array((stamp + salt + "|" + address).utf8))
        return stamp + salt + Digest.hex(Array(mac[0..<16]))
    }

    /// What a presented nonce is: ours and fresh, ours but expired (`stale=true`), or not ours.
    public enum NonceState: Sendable, Equatable { case fresh(issued: Int), stale, forged }

    public static func check(nonce: String, key: [UInt8], now: Int, address: String) -> NonceState {
        let bytes = Array(nonce.utf8)
        guard bytes.count == 64, let issued = Int(String(decoding: bytes[0..<16], as: UTF8.self), radix: 16) else { return .forged }
        var random: [UInt8] = []
        var index = 16
        while index < 32 {
            guard let byte = UInt8(String(decoding: bytes[index..<(index + 2)], as: UTF8.self), radix: 16) else { return .forged }
            random.append(byte)
            index += 2
        }
        guard constantTimeEqual(Self.nonce(key: key, time: issued, address: address, random: random), nonce) else { return .forged }
        if issued > now + 5 || now - issued > nonceLifetime { return .stale }
        return .fresh(issued: issued)
    }
}

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
        let version = try database.userVersion()
        if version < 2 {
            try database.execute("BEGIN IMMEDIATE")
            do {
                if try database.userVersion() < 2 {
                    try database.execute(Self.schema + Self.schema2 + "PRAGMA user_version = 2;")
                }
                try database.execute("COMMIT")
            } catch {
                try? database.execute("ROLLBACK")
                throw error
            }
        }
    }

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

/// Standard base64 (RFC 4648 §4), for Basic credentials.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var url = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "+": url.unicodeScalars.append("-")
            case "/": url.unicodeScalars.append("_")
            default: url.unicodeScalars.append(scalar)
            }
        }
        return Base64URL.decode(url)
    }
}
