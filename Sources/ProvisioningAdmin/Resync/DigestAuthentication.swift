public import Provisioning
import Foundation

/// A digest challenge (`WWW-Authenticate` / `Proxy-Authenticate: Digest ...`, RFC 2617 / RFC 3261 §22) and the
/// answer to it. MD5 only, with or without `qop=auth`, which is what phones and SIP servers send.
public struct DigestChallenge: Sendable, Equatable {
    public var realm: String
    public var nonce: String
    public var opaque: String?
    public var algorithm: String?
    /// The qop values offered (`auth`, `auth-int`).
    public var qop: [String]
    public var stale = false

    /// Parses the value of a challenge header; nil unless it is a Digest challenge with a realm and a nonce.
    public init?(header: String) {
        var text = Substring(header).drop { $0 == " " }
        guard text.lowercased().hasPrefix("digest") else { return nil }
        text = text.dropFirst(6)
        let fields = Self.parameters(text)
        guard let realm = fields["realm"], let nonce = fields["nonce"] else { return nil }
        self.realm = realm
        self.nonce = nonce
        opaque = fields["opaque"]
        algorithm = fields["algorithm"]
        qop = (fields["qop"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        stale = fields["stale"]?.lowercased() == "true"
    }

    /// `name=value` and `name="quoted value"` pairs separated by commas; names lower-cased (`DigestParameters`,
    /// the one parser; a malformed list keeps what could be read).
    static func parameters(_ text: Substring) -> [String: String] {
        DigestParameters(String(text)).fields
    }

    /// True when this build can answer it (MD5, and `auth` if a qop is required).
    public var isSupported: Bool {
        let algorithm = (self.algorithm ?? "MD5").uppercased()
        return algorithm == "MD5" && (qop.isEmpty || qop.contains("auth"))
    }

    /// The `Authorization` (or `Proxy-Authorization`) value for `method` on `uri`.
    public func authorization(method: String, uri: String, username: String, password: String,
                              cnonce: String, nonceCount: Int = 1) -> String {
        let ha1 = Digest.md5Hex(Array("\(username):\(realm):\(password)".utf8))
        let ha2 = Digest.md5Hex(Array("\(method):\(uri)".utf8))
        func quoted(_ value: String) -> String {
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var parts = ["username=\(quoted(username))", "realm=\(quoted(realm))", "nonce=\(quoted(nonce))", "uri=\(quoted(uri))"]
        if qop.contains("auth") {
            let nc = String(format: "%08x", nonceCount)
            let response = Digest.md5Hex(Array("\(ha1):\(nonce):\(nc):\(cnonce):auth:\(ha2)".utf8))
            parts += ["response=\(quoted(response))", "algorithm=MD5", "cnonce=\(quoted(cnonce))", "nc=\(nc)", "qop=auth"]
        } else {
            let response = Digest.md5Hex(Array("\(ha1):\(nonce):\(ha2)".utf8))
            parts += ["response=\(quoted(response))", "algorithm=MD5"]
        }
        if let opaque { parts.append("opaque=\(quoted(opaque))") }
        return "Digest " + parts.joined(separator: ", ")
    }
}

/// Random lower-case hex, for branches, tags, Call-IDs and cnonces.
func randomHex(_ bytes: Int) -> String {
    Digest.hex((try? OpenSSLEnc.randomBytes(bytes)) ?? (0..<bytes).map { _ in UInt8.random(in: 0...255) })
}
