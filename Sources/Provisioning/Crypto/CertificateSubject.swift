import CCrypto

/// One attribute of a certificate's subject: its OID in dotted form and its value as text.
public struct SubjectAttribute: Sendable, Equatable {
    /// The attribute type, such as `2.5.4.11` for organizationalUnitName.
    public var oid: String
    /// The value, decoded from its ASN.1 string type to UTF-8.
    public var value: String

    public init(oid: String, value: String) {
        self.oid = oid
        self.value = value
    }
}

/// Reads the subject of a PEM certificate with libcrypto's base64 (`EVP_DecodeBlock`) and DER reader
/// (`ASN1_get_object`), taking each attribute by OID.
///
/// Only the subject is walked: decoding the whole certificate with `d2i_X509` would also decode the public key,
/// which in OpenSSL 3 loads the provider tables (about 1 ms per process). mod_ssl has already verified the
/// certificate; we only need to read it.
public enum CertificateSubject {
    /// The subject attributes of the first certificate in `pem`, in the order they appear.
    public static func attributes(pem: String) throws(CryptoError) -> [SubjectAttribute] {
        try attributes(der: try decodePEM(pem))
    }

    /// The subject attributes of a DER certificate, in the order they appear.
    public static func attributes(der: [UInt8]) throws(CryptoError) -> [SubjectAttribute] {
        try der.withUnsafeBufferPointer { buffer throws(CryptoError) in
            var reader = DERReader(buffer)
            var certificate = try reader.enter(expecting: 0x10, what: "Certificate")
            var tbs = try certificate.enter(expecting: 0x10, what: "TBSCertificate")
            var element = try tbs.next(what: "TBSCertificate field")
            if element.isContextSpecific && element.tag == 0 { element = try tbs.next(what: "serialNumber") } // version
            _ = try tbs.next(what: "signature")
            _ = try tbs.next(what: "issuer")
            _ = try tbs.next(what: "validity")
            let subject = try tbs.next(what: "subject")
            guard subject.tag == 0x10, subject.isConstructed else { throw CryptoError("certificate", "subject is not a SEQUENCE") }
            var names = subject.contents
            var result: [SubjectAttribute] = []
            while !names.atEnd {
                var set = try names.enter(expecting: 0x11, what: "RelativeDistinguishedName")
                while !set.atEnd {
                    var pair = try set.enter(expecting: 0x10, what: "AttributeTypeAndValue")
                    let type = try pair.next(what: "attribute type")
                    guard type.tag == 0x06 else { throw CryptoError("certificate", "attribute type is not an OID") }
                    let value = try pair.next(what: "attribute value")
                    result.append(SubjectAttribute(oid: dottedOID(type.bytes), value: decodeString(tag: value.tag, value.bytes)))
                }
            }
            return result
        }
    }

    /// The DER bytes of the first `CERTIFICATE` block in `pem` (`EVP_DecodeBlock`).
    public static func decodePEM(_ pem: String) throws(CryptoError) -> [UInt8] {
        let text = Array(pem.utf8)
        let begin = Array("-----BEGIN CERTIFICATE-----".utf8)
        let end = Array("-----END CERTIFICATE-----".utf8)
        guard let start = offset(of: begin, in: text, from: 0).map({ $0 + begin.count }),
              let stop = offset(of: end, in: text, from: start) else {
            throw CryptoError("PEM", "no CERTIFICATE block")
        }
        // mod_ssl may hand the PEM over with its newlines turned into spaces: drop all white space.
        let base64 = text[start..<stop].filter { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }
        guard !base64.isEmpty, base64.count % 4 == 0 else { throw CryptoError("PEM", "base64 body has a bad length") }
        var der = [UInt8](repeating: 0, count: base64.count / 4 * 3)
        let decoded = EVP_DecodeBlock(&der, base64, Int32(base64.count))
        guard decoded >= 0 else { throw CryptoError("EVP_DecodeBlock", "bad base64") }
        // EVP_DecodeBlock counts the padding as output bytes.
        let padding = base64.suffix(2).filter { $0 == UInt8(ascii: "=") }.count
        der.removeSubrange((Int(decoded) - padding)...)
        return der
    }

    /// Where `needle` first starts in `haystack` at or after `start`. (A plain loop: the standard library's
    /// generic `firstRange(of:)` cost over two million instructions here, more than a whole request.)
    static func offset(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = start
        while index + needle.count <= haystack.count {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// `2.5.4.11` from the OID's content bytes, built on bytes (no intermediate strings).
    static func dottedOID(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func appendDecimal(_ number: UInt64) {
            var digits: [UInt8] = []
            var rest = number
            repeat {
                digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
                rest /= 10
            } while rest > 0
            out.append(contentsOf: digits.reversed())
        }
        var value: UInt64 = 0
        var first = true
        for byte in bytes {
            value = (value << 7) | UInt64(byte & 0x7f)
            if byte & 0x80 != 0 { continue }
            if first {
                let arc = min(value / 40, 2)
                appendDecimal(arc)
                out.append(UInt8(ascii: "."))
                appendDecimal(value - arc * 40)
                first = false
            } else {
                out.append(UInt8(ascii: "."))
                appendDecimal(value)
            }
            value = 0
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of an ASN.1 string of the given universal tag.
    static func decodeString(tag: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> String {
        switch tag {
        case 30: // BMPString, UTF-16BE
            var units: [UInt16] = []
            var index = 0
            while index + 1 < bytes.count {
                units.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
                index += 2
            }
            return String(decoding: units, as: UTF16.self)
        case 28: // UniversalString, UTF-32BE
            var scalars = String.UnicodeScalarView()
            var index = 0
            while index + 3 < bytes.count {
                let value = UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
                    | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
                index += 4
            }
            return String(scalars)
        case 20: // T61String: read as Latin-1, which is what it holds in practice
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default: // UTF8String, PrintableString, IA5String, VisibleString, NumericString
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

/// A DER element: its tag, class and content bytes.
struct DERElement {
    var tag: Int32
    var tagClass: Int32
    var isConstructed: Bool
    var bytes: UnsafeBufferPointer<UInt8>
    var isContextSpecific: Bool { tagClass == V_ASN1_CONTEXT_SPECIFIC }
    var contents: DERReader { DERReader(bytes) }
}

/// Walks a run of DER elements with `ASN1_get_object`, never reading past the buffer it was given.
struct DERReader {
    var remaining: UnsafeBufferPointer<UInt8>

    init(_ buffer: UnsafeBufferPointer<UInt8>) { remaining = buffer }

    var atEnd: Bool { remaining.isEmpty }

    /// The next element (`ASN1_get_object`); an indefinite or overlong length is an error.
    mutating func next(what: String) throws(CryptoError) -> DERElement {
        guard let base = remaining.baseAddress, !remaining.isEmpty else {
            throw CryptoError("certificate", "\(what) missing")
        }
        var cursor: UnsafePointer<UInt8>? = base
        var length = 0
        var tag: Int32 = 0
        var tagClass: Int32 = 0
        let rc = ASN1_get_object(&cursor, &length, &tag, &tagClass, remaining.count)
        guard rc & 0x80 == 0, let cursor, length >= 0 else { throw CryptoError("ASN1_get_object", "bad DER in \(what)") }
        let headerLength = cursor - base
        guard headerLength + length <= remaining.count else { throw CryptoError("certificate", "\(what) overruns its parent") }
        let element = DERElement(tag: tag, tagClass: tagClass, isConstructed: rc & 0x20 != 0,
                                 bytes: UnsafeBufferPointer(start: cursor, count: length))
        remaining = UnsafeBufferPointer(rebasing: remaining[(headerLength + length)...])
        return element
    }

    /// The contents of the next element, which must be a constructed universal `tag`.
    mutating func enter(expecting tag: Int32, what: String) throws(CryptoError) -> DERReader {
        let element = try next(what: what)
        guard element.tag == tag, element.isConstructed, element.tagClass == V_ASN1_UNIVERSAL else {
            throw CryptoError("certificate", "\(what) has an unexpected type")
        }
        return element.contents
    }
}
