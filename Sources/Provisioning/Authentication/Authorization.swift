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

    /// Reads `k=v` pairs separated by commas (`DigestParameters`); nil for a malformed list. Values are trimmed.
    init?(parameters text: String) {
        let parsed = DigestParameters(text)
        guard parsed.isWellFormed else { return nil }
        let fields = parsed.fields.mapValues(\.trimmingSpaces)
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

/// The `name=value, name="quoted value"` list of a Digest header, the answer (`Authorization`, RFC 7616 §3.4) and
/// the challenge (`WWW-Authenticate`, RFC 7616 §3.3, read by the admin's resync): the one parser of both. Names are
/// lower-cased and trimmed; an unquoted value is trimmed; a quoted one is kept as written, its `\` escapes undone.
public struct DigestParameters: Sendable, Equatable {
    public var fields: [String: String] = [:]
    /// Every name had its `=` and every quoted value its closing quote.
    public var isWellFormed = true

    public init(_ text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func skip(commas: Bool) {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || (commas && bytes[index] == UInt8(ascii: ",")) {
                index += 1
            }
        }
        while true {
            skip(commas: true)
            guard index < bytes.count else { break }
            let nameStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: ",") { index += 1 }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self).trimmingSpaces.lowercased()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                isWellFormed = false
                continue
            }
            index += 1
            skip(commas: false)
            var value: [UInt8] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") {
                        index += 1
                        if index == bytes.count { break }
                    }
                    value.append(bytes[index])
                    index += 1
                }
                if index < bytes.count { index += 1 } else { isWellFormed = false }
                if !name.isEmpty { fields[name] = String(decoding: value, as: UTF8.self) }
            } else {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: ",") { index += 1 }
                if !name.isEmpty { fields[name] = String(decoding: bytes[start..<index], as: UTF8.self).trimmingSpaces }
            }
        }
    }
}
