/// Who is calling: the phone's MAC, serial and product, read from its verified client certificate.
public struct ClientIdentity: Sendable, Equatable {
    /// Where the identity was read from.
    public enum Source: String, Sendable {
        /// `SSL_CLIENT_CERT`, parsed with libcrypto.
        case certificate
        /// `SSL_CLIENT_S_DN_*` and `SSL_CLIENT_S_DN`.
        case variables
        /// Made from a stored device, for `provctl render`.
        case device
        /// A device whose HTTP account the caller proved (Basic or Digest over HTTPS).
        case account
        /// A device a caller named without proving anything: bootstrap trust only.
        case bootstrap
    }

    /// The MAC, from ST (or surname) in the OU/L/ST form, or from `CN=<product>-SEP<MAC>`.
    public var mac: MACAddress
    /// The phone's serial: L, or the `SN:` part of `serialNumber`.
    public var serial: String?
    /// The product: OU, or the `PID:` part of `serialNumber` (else the CN before `-SEP`).
    public var model: String?
    /// The subject's attributes by lower-case short name (`ou`, `l`, `st`, `cn`, `serialnumber`, ...); a repeated
    /// attribute's later values are `ou_1`, `ou_2`, as mod_ssl names them. These feed `{{cert.*}}`.
    public var fields: StringTable
    /// Where this was read from.
    public var source: Source
    /// The SHA-256 of the certificate (its DER), lower-case hex, when the PEM was exported.
    public var fingerprint: String?

    public init(mac: MACAddress, serial: String?, model: String?, fields: StringTable, source: Source) {
        self.mac = mac
        self.serial = serial
        self.model = model
        self.fields = fields
        self.source = source
    }

    // The three name tables are switches, not arrays of pairs: each array of a tuple type is one more generic
    // type the Swift runtime instantiates at start-up, and the CGI pays that on every request.

    /// The short name of a subject attribute type, by OID.
    static func shortName(oid: String) -> String? {
        switch oid {
        case "2.5.4.3": "cn"
        case "2.5.4.4": "sn"
        case "2.5.4.5": "serialnumber"
        case "2.5.4.6": "c"
        case "2.5.4.7": "l"
        case "2.5.4.8": "st"
        case "2.5.4.9": "street"
        case "2.5.4.10": "o"
        case "2.5.4.11": "ou"
        case "2.5.4.12": "title"
        case "2.5.4.13": "description"
        case "2.5.4.42": "givenname"
        case "2.5.4.43": "initials"
        case "2.5.4.44": "generationqualifier"
        case "2.5.4.46": "dnqualifier"
        case "2.5.4.65": "pseudonym"
        case "1.2.840.113549.1.9.1": "emailaddress"
        case "0.9.2342.19200300.100.1.1": "uid"
        case "0.9.2342.19200300.100.1.25": "dc"
        default: nil
        }
    }

    /// True for the names `{{cert.NAME}}` may use even when this certificate lacks the attribute (they read as
    /// empty): the short names `shortName(oid:)` gives.
    public static func isKnownFieldName(_ name: String) -> Bool {
        switch name {
        case "cn", "sn", "serialnumber", "c", "l", "st", "street", "o", "ou", "title", "description", "givenname",
             "initials", "generationqualifier", "dnqualifier", "pseudonym", "emailaddress", "uid", "dc": true
        default: false
        }
    }

    /// The short name mod_ssl's `SSL_CLIENT_S_DN_<suffix>` stands for.
    static func shortName(variableSuffix suffix: Substring) -> String? {
        switch suffix {
        case "C": "c"
        case "ST", "SP": "st"
        case "L": "l"
        case "O": "o"
        case "OU": "ou"
        case "CN": "cn"
        case "T": "title"
        case "I": "initials"
        case "G": "givenname"
        case "S": "sn"
        case "D": "description"
        case "UID": "uid"
        case "Email": "emailaddress"
        case "SerialNumber", "serialNumber": "serialnumber"
        case "DC": "dc"
        default: nil
        }
    }

    /// The short name of an RFC 2253 attribute key (lower-cased) as OpenSSL prints it.
    static func shortName(distinguishedNameKey key: String) -> String {
        switch key {
        case "s": "st"
        case "gn": "givenname"
        case "email": "emailaddress"
        default: key
        }
    }

    /// Settles who is calling from a CGI environment set by mod_ssl.
    ///
    /// `SSL_CLIENT_VERIFY` must be `SUCCESS`. The certificate's PEM (`SSL_CLIENT_CERT`) is read when present,
    /// else the subject variables. A generic `ciscogeneric` certificate, a missing MAC or a malformed one is no
    /// identity: each is a 403.
    public static func from(environment: StringTable) throws(IdentityError) -> ClientIdentity {
        let verify = environment["SSL_CLIENT_VERIFY"] ?? "NONE"
        guard verify == "SUCCESS" else {
            throw .notVerified(String(verify.prefix(80)))
        }
        let fields: StringTable
        let source: Source
        var fingerprint: String? = nil
        if let pem = environment["SSL_CLIENT_CERT"], !pem.isEmpty {
            do {
                let der = try CertificateSubject.decodePEM(pem)
                fields = Self.fields(from: try CertificateSubject.attributes(der: der))
                fingerprint = Digest.sha256Hex(der)
            } catch {
                throw .unreadable(error.description)
            }
            source = .certificate
        } else {
            fields = Self.fields(environment: environment)
            source = .variables
        }
        var identity = try identity(fields: fields, source: source)
        identity.fingerprint = fingerprint
        return identity
    }

    /// Short-name fields from attributes in certificate order; repeats become `name_1`, `name_2`, ...
    static func fields(from attributes: [SubjectAttribute]) -> StringTable {
        var fields = StringTable()
        for attribute in attributes {
            let name = shortName(oid: attribute.oid) ?? attribute.oid
            insert(&fields, name, attribute.value)
        }
        return fields
    }

    static func insert(_ fields: inout StringTable, _ name: String, _ value: String) {
        guard fields[name] != nil else { fields.appendNew(name, value); return }
        var index = 1
        while fields["\(name)_\(index)"] != nil { index += 1 }
        fields.appendNew("\(name)_\(index)", value)
    }

    /// Fields from `SSL_CLIENT_S_DN` (RFC 2253), overridden by the unescaped `SSL_CLIENT_S_DN_*` variables.
    static func fields(environment: StringTable) -> StringTable {
        var fields = StringTable()
        if let dn = environment["SSL_CLIENT_S_DN"] {
            // RFC 2253 lists the most specific attribute first; certificate order is the reverse.
            for (key, value) in parseDistinguishedName(dn).reversed() {
                let lower = key.lowercased()
                insert(&fields, shortName(distinguishedNameKey: lower), value)
            }
        }
        let prefix = "SSL_CLIENT_S_DN_".utf8
        for entry in environment where entry.key.utf8.count > prefix.count && entry.key.utf8.starts(with: prefix) {
            var suffix = Substring(entry.key.utf8.dropFirst(prefix.count))
            var index = 0
            // A repeated attribute: `SSL_CLIENT_S_DN_OU_1`.
            if let underscore = suffix.lastIndex(of: "_"), let number = Int(suffix[suffix.index(after: underscore)...]) {
                index = number
                suffix = suffix[..<underscore]
            }
            guard let name = shortName(variableSuffix: suffix) else { continue }
            fields[index == 0 ? name : "\(name)_\(index)"] = entry.value
        }
        return fields
    }

    /// Splits an RFC 2253 string (`CN=a\,b,OU=x+L=y`) into key/value pairs, undoing its escapes.
    static func parseDistinguishedName(_ dn: String) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var key: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        let bytes = Array(dn.utf8)
        var index = 0
        func flush() {
            let name = String(decoding: key, as: UTF8.self).trimmingSpaces
            if !name.isEmpty { pairs.append((name, String(decoding: value, as: UTF8.self))) }
            key = []
            value = []
            inValue = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                if index + 2 < bytes.count, let high = Hex.value(of: bytes[index + 1]), let low = Hex.value(of: bytes[index + 2]) {
                    (inValue ? { value.append(high << 4 | low) } : { key.append(high << 4 | low) })()
                    index += 3
                } else {
                    (inValue ? { value.append(bytes[index + 1]) } : { key.append(bytes[index + 1]) })()
                    index += 2
                }
                continue
            }
            if !inValue && byte == UInt8(ascii: "=") {
                inValue = true
            } else if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ";") {
                flush()
            } else if inValue {
                value.append(byte)
            } else {
                key.append(byte)
            }
            index += 1
        }
        flush()
        return pairs
    }

    /// Picks MAC, serial and product from the fields, accepting both subject forms of FACTS.md §1.
    static func identity(fields: StringTable, source: Source) throws(IdentityError) -> ClientIdentity {
        let generic = "ciscogeneric"
        if fields["l"]?.lowercased() == generic || fields["st"]?.lowercased() == generic
            || fields["sn"]?.lowercased() == generic || fields["cn"]?.lowercased() == generic {
            throw .generic
        }
        // CN=<product>-SEP<MAC> with serialNumber=PID:<product> SN:<serial> (newer Cisco MICs).
        let cn = fields["cn"]
        let sep = cn?.lastRange(ofCaseInsensitive: "SEP")
        if let cn, let sep, let mac = MACAddress(cn[sep.upperBound...]) {
            var product: String? = nil
            var serial: String? = nil
            if let serialNumber = fields["serialnumber"] {
                for part in serialNumber.split(separator: " ") {
                    if part.hasPrefix("PID:") { product = String(part.dropFirst(4)) }
                    if part.hasPrefix("SN:") { serial = String(part.dropFirst(3)) }
                }
            }
            if product == nil {
                var prefix = cn[..<sep.lowerBound]
                if prefix.hasSuffix("-") { prefix = prefix.dropLast() }
                product = String(prefix)
            }
            return ClientIdentity(mac: mac, serial: serial.nonEmpty, model: product.nonEmpty, fields: fields, source: source)
        }
        // OU=<product>, L=<serial>, ST (or surname, mod_ssl's "S")=<MAC>: the guides' form.
        guard let macText = fields["st"].nonEmpty ?? fields["sn"].nonEmpty else {
            if let cn, sep != nil {
                throw .malformedMAC(field: "CN", value: String(cn.prefix(80)))
            }
            throw .noMAC
        }
        guard let mac = MACAddress(macText) else {
            throw .malformedMAC(field: "ST", value: String(macText.prefix(80)))
        }
        return ClientIdentity(mac: mac, serial: fields["l"].nonEmpty, model: fields["ou"].nonEmpty, fields: fields, source: source)
    }

    /// The identity `provctl render` uses for a stored device: the OU/L/ST subject its certificate would carry.
    public static func standIn(for device: Device) -> ClientIdentity {
        var fields: StringTable = ["st": device.mac.hex]
        if let model = device.model { fields["ou"] = model }
        if let serial = device.serial { fields["l"] = serial }
        return ClientIdentity(mac: device.mac, serial: device.serial, model: device.model, fields: fields, source: .device)
    }
}

extension Optional where Wrapped == String {
    /// `nil` for an empty string too.
    var nonEmpty: String? {
        switch self {
        case .some(let text) where !text.isEmpty: return text
        default: return nil
        }
    }
}

extension String {
    /// The text without leading and trailing spaces and tabs.
    package var trimmingSpaces: String {
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }),
              let last = bytes.lastIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    /// The last range of `needle`, compared ASCII case-insensitively.
    func lastRange(ofCaseInsensitive needle: String) -> Range<String.Index>? {
        func fold(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
        let haystack = Array(utf8)
        let pattern = needle.utf8.map(fold)
        guard !pattern.isEmpty, haystack.count >= pattern.count else { return nil }
        for start in stride(from: haystack.count - pattern.count, through: 0, by: -1)
        where pattern.indices.allSatisfy({ fold(haystack[start + $0]) == pattern[$0] }) {
            let lower = utf8.index(utf8.startIndex, offsetBy: start)
            return lower..<utf8.index(lower, offsetBy: pattern.count)
        }
        return nil
    }
}
