/// The XML document a phone reads: `<flat-profile>` with one element per parameter.
public enum FlatProfile {
    /// Renders the parameters in the order given: `<Name ua="na">text</Name>`, `<Name/>` for an empty value,
    /// text and attributes escaped, characters XML 1.0 forbids replaced by U+FFFD.
    public static func render(_ parameters: [ResolvedParameter]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + parameters.count * 64)
        append("<flat-profile>\n", to: &out)
        for parameter in parameters {
            append("  <", to: &out)
            append(parameter.name, to: &out)
            if let access = parameter.access {
                append(" ua=\"", to: &out)
                append(access.rawValue, to: &out)
                out.append(UInt8(ascii: "\""))
            }
            if parameter.value.isEmpty {
                append("/>\n", to: &out)
                continue
            }
            out.append(UInt8(ascii: ">"))
            XMLText.appendEscaped(parameter.value, to: &out)
            append("</", to: &out)
            append(parameter.name, to: &out)
            append(">\n", to: &out)
        }
        append("</flat-profile>\n", to: &out)
        return out
    }

    /// Appends a literal's bytes with one copy.
    static func append(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends a string's UTF-8 with one copy.
    static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }
}

/// XML 1.0 names and text.
public enum XMLText {
    /// Appends `text` escaped for element content (`&amp; &lt; &gt;`, and `&quot; &apos;` so it could also sit in
    /// an attribute); characters XML 1.0 forbids become U+FFFD. Works on the UTF-8 bytes: in valid UTF-8 the only
    /// forbidden characters are the C0 controls other than tab, LF and CR, and U+FFFE / U+FFFF (`EF BF BE/BF`).
    public static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        let bytes = text.utf8
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "&"): out += "&amp;".utf8
            case UInt8(ascii: "<"): out += "&lt;".utf8
            case UInt8(ascii: ">"): out += "&gt;".utf8
            case UInt8(ascii: "\""): out += "&quot;".utf8
            case UInt8(ascii: "'"): out += "&apos;".utf8
            case 0x09, 0x0a, 0x0d: out.append(byte)
            case 0x00..<0x20: out += replacement
            case 0xef:
                let next = bytes.index(after: index)
                if next != bytes.endIndex, bytes[next] == 0xbf {
                    let last = bytes.index(after: next)
                    if last != bytes.endIndex, bytes[last] == 0xbe || bytes[last] == 0xbf {
                        out += replacement
                        index = bytes.index(after: last)
                        continue
                    }
                }
                out.append(byte)
            default: out.append(byte)
            }
            index = bytes.index(after: index)
        }
    }

    static let replacement: [UInt8] = [0xef, 0xbf, 0xbd]

    /// True for the characters XML 1.0 allows: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000 and up.
    public static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    /// The first character of `text` XML 1.0 forbids, if any.
    public static func firstForbidden(in text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first { !isAllowed($0) }
    }

    /// True for a name a flat-profile element can carry: ASCII letter or `_` first, then letters, digits, `_`,
    /// `-` and `.`. (Names starting with `xml` are reserved by the XML spec but well-formed, and Cisco uses them:
    /// `XML_Directory_Service_URL`.)
    public static func isValidName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            guard let first = bytes.first, bytes.count <= 128 else { return false }
            func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
            guard isLetter(first) || first == UInt8(ascii: "_") else { return false }
            for byte in bytes {
                guard isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") else { return false }
            }
            return true
        }
    }
}
