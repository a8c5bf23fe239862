/// The XML document a phone reads: `<flat-profile>` with one element per parameter.
public enum FlatProfile {
    /// Renders the parameters in the order given: `<Name ua="na">text</Name>`, `<Name/>` for an empty value,
    /// text and attributes escaped, characters XML 1.0 forbids replaced by U+FFFD.
    public static func render(_ parameters: [ResolvedParameter]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + parameters.count * 48)
        out += "<flat-profile>\n".utf8
        for parameter in parameters {
            out += "  <".utf8
            out += parameter.name.utf8
            if let access = parameter.access {
                out += " ua=\"".utf8
                out += access.rawValue.utf8
                out.append(UInt8(ascii: "\""))
            }
            if parameter.value.isEmpty {
                out += "/>\n".utf8
                continue
            }
            out.append(UInt8(ascii: ">"))
            XMLText.appendEscaped(parameter.value, to: &out)
            out += "</".utf8
            out += parameter.name.utf8
            out += ">\n".utf8
        }
        out += "</flat-profile>\n".utf8
        return out
    }
}

/// XML 1.0 names and text.
public enum XMLText {
    /// Appends `text` escaped for element content (`&amp; &lt; &gt;`, and `&quot; &apos;` so it could also sit in
    /// an attribute); characters XML 1.0 forbids become U+FFFD.
    public static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;".utf8
            case "<": out += "&lt;".utf8
            case ">": out += "&gt;".utf8
            case "\"": out += "&quot;".utf8
            case "'": out += "&apos;".utf8
            default:
                if isAllowed(scalar) {
                    out += String(scalar).utf8
                } else {
                    out += "\u{FFFD}".utf8
                }
            }
        }
    }

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
    /// `-` and `.`; not starting with `xml` in any case.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
        guard isLetter(first) || first == UInt8(ascii: "_") else { return false }
        if bytes.count >= 3 && String(decoding: bytes[0..<3], as: UTF8.self).lowercased() == "xml" { return false }
        return bytes.allSatisfy {
            isLetter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }
}
