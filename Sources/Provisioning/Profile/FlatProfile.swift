#if canImport(Glibc)
import Glibc
#endif

/// The XML document a phone reads: `<flat-profile>` with one element per parameter.
///
/// Both renderings size the document first and then write it with pointers, one `memcpy` per piece: the CGI
/// renders on every request, and appending piece by piece to an array cost more than the rest of the rendering.
public enum FlatProfile {
    /// Renders the parameters in the order given: `<Name ua="na">text</Name>`, `<Name/>` for an empty value,
    /// text and attributes escaped, characters XML 1.0 forbids replaced by U+FFFD.
    public static func render(_ parameters: [ResolvedParameter]) -> [UInt8] {
        var capacity = documentOverhead
        for parameter in parameters {
            capacity += elementCapacity(name: parameter.name.utf8.count, value: parameter.value.utf8.count)
        }
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var out = buffer.baseAddress!
            write("<flat-profile>\n", to: &out)
            for parameter in parameters {
                var name = parameter.name, value = parameter.value
                name.withUTF8 { name in
                    value.withUTF8 { value in
                        writeElement(name: name, access: LayerRows.accessCode(parameter.access), value: value, to: &out)
                    }
                }
            }
            write("</flat-profile>\n", to: &out)
            count = out - buffer.baseAddress!
        }
    }

    /// The same document from the merge's byte form (the CGI's path): the same bytes as `render(_:)` gives for
    /// the same parameters.
    package static func render(_ rows: LayerRows, _ resolved: ResolvedRows) -> [UInt8] {
        rows.bytes.withUnsafeBufferPointer { names in
            resolved.values.withUnsafeBufferPointer { values in
                var capacity = documentOverhead
                for index in 0..<resolved.count {
                    capacity += elementCapacity(name: rows.nameRange(resolved.row(index)).count,
                                                value: resolved.valueRange(index).count)
                }
                return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                    var out = buffer.baseAddress!
                    write("<flat-profile>\n", to: &out)
                    for index in 0..<resolved.count {
                        writeElement(name: UnsafeBufferPointer(rebasing: names[rows.nameRange(resolved.row(index))]),
                                     access: resolved.access(index),
                                     value: UnsafeBufferPointer(rebasing: values[resolved.valueRange(index)]), to: &out)
                    }
                    write("</flat-profile>\n", to: &out)
                    count = out - buffer.baseAddress!
                }
            }
        }
    }

    /// `<flat-profile>\n` and `</flat-profile>\n`.
    static let documentOverhead = 32

    /// The most bytes `writeElement` writes for a name and value of these lengths: escaping turns one byte into
    /// at most six (`"` becomes `&quot;`).
    static func elementCapacity(name: Int, value: Int) -> Int { 2 * name + 16 + 6 * value }

    /// One element: `  <Name ua="na">text</Name>` or `  <Name/>`, with its line break. `access` is a
    /// `LayerRows.accessCode`.
    static func writeElement(name: UnsafeBufferPointer<UInt8>, access: Int, value: UnsafeBufferPointer<UInt8>,
                             to out: inout UnsafeMutablePointer<UInt8>) {
        write("  <", to: &out)
        write(name, to: &out)
        switch access {
        case 0: write(" ua=\"na\"", to: &out)
        case 1: write(" ua=\"ro\"", to: &out)
        case 2: write(" ua=\"rw\"", to: &out)
        default: break
        }
        if value.isEmpty {
            write("/>\n", to: &out)
            return
        }
        write(">", to: &out)
        XMLText.writeEscaped(value, to: &out)
        write("</", to: &out)
        write(name, to: &out)
        write(">\n", to: &out)
    }

    static func write(_ text: StaticString, to out: inout UnsafeMutablePointer<UInt8>) {
        memcpy(out, text.utf8Start, text.utf8CodeUnitCount)
        out += text.utf8CodeUnitCount
    }

    static func write(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout UnsafeMutablePointer<UInt8>) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        memcpy(out, base, bytes.count)
        out += bytes.count
    }
}

/// XML 1.0 names and text.
public enum XMLText {
    /// Writes `bytes` escaped for element content (`&amp; &lt; &gt;`, and `&quot; &apos;` so it could also sit in
    /// an attribute), characters XML 1.0 forbids as U+FFFD; at most six bytes out per byte in. In valid UTF-8 the only characters XML 1.0
    /// forbids are the C0 controls other than tab, LF and CR, and U+FFFE / U+FFFF (`EF BF BE/BF`). Runs of bytes
    /// that need nothing are copied at once.
    static func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout UnsafeMutablePointer<UInt8>) {
        var runStart = 0
        var index = 0
        func flush() {
            if runStart < index { FlatProfile.write(UnsafeBufferPointer(rebasing: bytes[runStart..<index]), to: &out) }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"):
                flush()
                switch byte {
                case UInt8(ascii: "&"): FlatProfile.write("&amp;", to: &out)
                case UInt8(ascii: "<"): FlatProfile.write("&lt;", to: &out)
                case UInt8(ascii: ">"): FlatProfile.write("&gt;", to: &out)
                case UInt8(ascii: "\""): FlatProfile.write("&quot;", to: &out)
                default: FlatProfile.write("&apos;", to: &out)
                }
                index += 1
                runStart = index
            case 0x09, 0x0a, 0x0d:
                index += 1
            case 0x00..<0x20:
                flush()
                FlatProfile.write("\u{FFFD}", to: &out)
                index += 1
                runStart = index
            case 0xef where index + 2 < bytes.count && bytes[index + 1] == 0xbf
                && (bytes[index + 2] == 0xbe || bytes[index + 2] == 0xbf):
                flush()
                FlatProfile.write("\u{FFFD}", to: &out)
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
