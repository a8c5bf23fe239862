#if canImport(Glibc)
import Glibc
#endif

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
/// captured answer cannot be replayed), and failed logins per client address (five within 15 minutes and the
/// address is answered 429 with Retry-After until the window has passed). Written before the answer, and only by
/// requests that carry credentials or fail them.
public final class AuthState {
    let database: SQLiteDatabase

    /// Failed logins from one address before it is slowed down.
    public static let failureLimit = 5
    /// The window those failures are counted in, in seconds.
    public static let failureWindow = 900

    static let schema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS nonces (nonce TEXT NOT NULL PRIMARY KEY, nc INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS failures (address TEXT NOT NULL PRIMARY KEY, count INTEGER NOT NULL, first_at INTEGER NOT NULL) WITHOUT ROWID;
        """

    /// `auth.db` in the journal's folder.
    public static func path(journalPath: String) -> String {
        let folder = FilePath.directory(of: journalPath)
        return (folder == "/" ? "" : folder) + "/auth.db"
    }

    public init(path: String) throws(SQLiteError) {
        database = try SQLiteDatabase(path: path, mode: .create, busyTimeout: 250)
        try database.execute("PRAGMA synchronous = NORMAL")
        if try database.userVersion() == 0 {
            try database.execute(Self.schema + "PRAGMA user_version = 1;")
        }
    }

    /// Seconds until `address` may try again, or nil when it is not slowed down.
    public func retryAfter(address: String, now: Int) throws(SQLiteError) -> Int? {
        let statement = try database.prepare("SELECT count, first_at FROM failures WHERE address = ?1")
        try statement.bind(1, address)
        guard try statement.step() else { return nil }
        let count = statement.int(0), first = statement.int(1)
        guard count >= Self.failureLimit, now - first < Self.failureWindow else { return nil }
        return Self.failureWindow - (now - first)
    }

    /// Counts a failed login from `address` (a new window once the old one has passed).
    public func recordFailure(address: String, now: Int) throws(SQLiteError) {
        let statement = try database.prepare("""
            INSERT INTO failures (address, count, first_at) VALUES (?1, 1, ?2)
            ON CONFLICT (address) DO UPDATE SET
                count = CASE WHEN ?2 - first_at >= \(Self.failureWindow) THEN 1 ELSE count + 1 END,
                first_at = CASE WHEN ?2 - first_at >= \(Self.failureWindow) THEN ?2 ELSE first_at END
            """)
        try statement.bind(1, address)
        try statement.bind(2, now)
        _ = try statement.step()
    }

    /// A successful login clears the address's failures.
    public func clearFailures(address: String) throws(SQLiteError) {
        let statement = try database.prepare("DELETE FROM failures WHERE address = ?1")
        try statement.bind(1, address)
        _ = try statement.step()
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
