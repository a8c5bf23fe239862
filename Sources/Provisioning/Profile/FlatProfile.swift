/// The XML document a phone reads: `<flat-profile>` with one element per parameter.
public enum FlatProfile {
    /// Renders the parameters in the order given: `<Name ua="na">text</Name>`, `<Name/>` for an empty value,
    /// text and attributes escaped, characters XML 1.0 forbids replaced by U+FFFD.
    public static func render(_ parameters: [ResolvedParameter]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + parameters.count * 64)
        append("<flat-profile>\n", to: &out)
        for parameter in parameters {
            var name = parameter.name, value = parameter.value
            name.withUTF8 { name in
                value.withUTF8 { value in
                    appendElement(name: name, access: LayerRows.accessCode(parameter.access), value: value, to: &out)
                }
            }
        }
        append("</flat-profile>\n", to: &out)
        return out
    }

    /// The same document from the merge's byte form (the CGI's path): the same bytes as `render(_:)` gives for
    /// the same parameters.
    static func render(_ rows: LayerRows, _ resolved: ResolvedRows) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + resolved.values.count + resolved.count * 48)
        append("<flat-profile>\n", to: &out)
        rows.bytes.withUnsafeBufferPointer { names in
            resolved.values.withUnsafeBufferPointer { values in
                for index in 0..<resolved.count {
                    appendElement(name: UnsafeBufferPointer(rebasing: names[rows.nameRange(resolved.row(index))]),
                                  access: resolved.access(index),
                                  value: UnsafeBufferPointer(rebasing: values[resolved.valueRange(index)]), to: &out)
                }
            }
        }
        append("</flat-profile>\n", to: &out)
        return out
    }

    /// One element: `  <Name ua="na">text</Name>` or `  <Name/>`, with its line break. `access` is a
    /// `LayerRows.accessCode`.
    static func appendElement(name: UnsafeBufferPointer<UInt8>, access: Int, value: UnsafeBufferPointer<UInt8>,
                              to out: inout [UInt8]) {
        append("  <", to: &out)
        out.append(contentsOf: name)
        switch access {
        case 0: append(" ua=\"na\"", to: &out)
        case 1: append(" ua=\"ro\"", to: &out)
        case 2: append(" ua=\"rw\"", to: &out)
        default: break
        }
        if value.isEmpty {
            append("/>\n", to: &out)
            return
        }
        out.append(UInt8(ascii: ">"))
        XMLText.appendEscaped(value, to: &out)
        append("</", to: &out)
        out.append(contentsOf: name)
        append(">\n", to: &out)
    }

    /// Appends a literal's bytes with one copy.
    static func append(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}

/// XML 1.0 names and text.
public enum XMLText {
    /// Appends `text` escaped for element content (`&amp; &lt; &gt;`, and `&quot; &apos;` so it could also sit in
    /// an attribute); characters XML 1.0 forbids become U+FFFD.
    public static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendEscaped($0, to: &out) }
    }

    /// `appendEscaped` on UTF-8 bytes. In valid UTF-8 the only characters XML 1.0 forbids are the C0 controls
    /// other than tab, LF and CR, and U+FFFE / U+FFFF (`EF BF BE/BF`). Runs of bytes that need nothing are copied
    /// at once.
    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        var index = 0
        func flush() {
            if runStart < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"):
                flush()
                switch byte {
                case UInt8(ascii: "&"): FlatProfile.append("&amp;", to: &out)
                case UInt8(ascii: "<"): FlatProfile.append("&lt;", to: &out)
                case UInt8(ascii: ">"): FlatProfile.append("&gt;", to: &out)
                case UInt8(ascii: "\""): FlatProfile.append("&quot;", to: &out)
                default: FlatProfile.append("&apos;", to: &out)
                }
                index += 1
                runStart = index
            case 0x09, 0x0a, 0x0d:
                index += 1
            case 0x00..<0x20:
                flush()
                FlatProfile.append("\u{FFFD}", to: &out)
                index += 1
                runStart = index
            case 0xef where index + 2 < bytes.count && bytes[index + 1] == 0xbf
                && (bytes[index + 2] == 0xbe || bytes[index + 2] == 0xbf):
                flush()
                FlatProfile.append("\u{FFFD}", to: &out)
                index += 3
                runStart = index
            default:
                index += 1
            }
        }
        flush()
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
    /// `-` and `.`. (Names starting with `xml` are reserved by the XML spec but well-formed, and Cisco uses them:
    /// `XML_Directory_Service_URL`.)
    public static func isValidName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { isValidName($0) }
    }

    static func isValidName(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
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
