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
        let stamp = Hex.text(UInt64(max(time, 0)), width: 16)
        let salt = Digest.hex(random ?? ((try? OpenSSLEnc.randomBytes(8)) ?? [UInt8](repeating: 0, count: 8)))
        let mac = HMACSHA256.mac(key: key, Array((stamp + salt + "|" + address).utf8))
        return stamp + salt + Digest.hex(Array(mac[0..<16]))
    }

    /// What a presented nonce is: ours and fresh, ours but expired (`stale=true`), or not ours.
    public enum NonceState: Sendable, Equatable { case fresh(issued: Int), stale, forged }

    public static func check(nonce: String, key: [UInt8], now: Int, address: String) -> NonceState {
        let bytes = Array(nonce.utf8)
        guard bytes.count == 64, let time = Hex.decode(bytes[0..<16]), time[0] < 0x80,
              let random = Hex.decode(bytes[16..<32]) else { return .forged }
        let issued = time.reduce(0) { $0 << 8 | Int($1) }
        guard constantTimeEqual(Self.nonce(key: key, time: issued, address: address, random: random), nonce) else { return .forged }
        if issued > now + 5 || now - issued > nonceLifetime { return .stale }
        return .fresh(issued: issued)
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
