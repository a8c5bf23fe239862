#if canImport(Glibc)
import func Glibc.memchr
import func Glibc.memcmp
import func Glibc.memcpy
#endif

/// The XML document a phone reads: `<flat-profile>` with one element per parameter.
///
/// Both renderings size the document first and then write it with pointers, one `memcpy` per piece: the CGI
/// renders on every request, and appending piece by piece to an array cost more than the rest of the rendering.
public enum FlatProfile {
    /// Renders the parameters in the order given: `<Name ua="na">text</Name>`; an empty value is `<Name></Name>`
    /// when its intent is `.empty` (set it empty) and `<Name/>` otherwise (leave the phone's value, FACTS §4);
    /// text and attributes escaped, characters XML 1.0 forbids replaced by U+FFFD.
    public static func render(_ parameters: [ResolvedParameter]) -> [UInt8] {
        var capacity = documentOverhead
        var nested = false
        for parameter in parameters {
            var name = parameter.name
            let blocks = name.withUTF8 { blockCapacity($0) }
            capacity += elementCapacity(name: parameter.name.utf8.count, value: parameter.value.utf8.count) + blocks
            if blocks > 0 { nested = true }
        }
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var out = buffer.baseAddress!
            var blocks = Blocks()
            write("<flat-profile>\n", to: &out)
            for parameter in parameters {
                var name = parameter.name, value = parameter.value
                name.withUTF8 { name in
                    value.withUTF8 { value in
                        writeElement(name: name, access: AccessCode(parameter.access), value: value,
                                     setsEmpty: parameter.intent == .empty, nested: nested, blocks: &blocks, to: &out)
                    }
                }
            }
            blocks.closeAll(to: &out)
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
                var nested = false
                for index in 0..<resolved.count {
                    let name = UnsafeBufferPointer(rebasing: names[rows.nameRange(resolved.row(index))])
                    let blocks = blockCapacity(name)
                    capacity += elementCapacity(name: name.count, value: resolved.valueRange(index).count) + blocks
                    if blocks > 0 { nested = true }
                }
                return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                    var out = buffer.baseAddress!
                    var blocks = Blocks()
                    write("<flat-profile>\n", to: &out)
                    for index in 0..<resolved.count {
                        writeElement(name: UnsafeBufferPointer(rebasing: names[rows.nameRange(resolved.row(index))]),
                                     access: resolved.access(index),
                                     value: UnsafeBufferPointer(rebasing: values[resolved.valueRange(index)]),
                                     setsEmpty: rows.intent(resolved.row(index)) == 1,
                                     nested: nested, blocks: &blocks, to: &out)
                    }
                    blocks.closeAll(to: &out)
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

    /// The most bytes the block elements of a nested name (`router-configuration/Time_Setup/Time_Server`) add:
    /// each block's opening and closing line, and the deeper indentation. 0 for a plain name.
    static func blockCapacity(_ name: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = name.baseAddress, !name.isEmpty, memchr(base, Int32(UInt8(ascii: "/")), name.count) != nil else {
            return 0
        }
        var depth = 0
        for byte in name where byte == UInt8(ascii: "/") { depth += 1 }
        return 2 * name.count + depth * (4 * depth + 16)
    }

    /// One element: `  <Name ua="na">text</Name>` or `  <Name/>`, with its line break. A nested name (`Block/Sub[2]/Leaf`, see `XMLText.isValidName`) first closes the
    /// blocks the previous name opened that this one is not in, opens the ones it is in, and writes its leaf
    /// indented inside them; an `[n]` (which keeps repeated blocks apart and in order) is not written. `nested`
    /// says whether the document has any nested name at all (the sizing pass found out), so a profile without
    /// blocks pays nothing here.
    static func writeElement(name fullName: UnsafeBufferPointer<UInt8>, access: AccessCode, value: UnsafeBufferPointer<UInt8>,
                             setsEmpty: Bool = false, nested: Bool, blocks: inout Blocks, to out: inout UnsafeMutablePointer<UInt8>) {
        var name = fullName
        if nested, let base = fullName.baseAddress, !fullName.isEmpty,
           blocks.isOpen || memchr(base, Int32(UInt8(ascii: "/")), fullName.count) != nil {
            var slash = fullName.count
            while slash > 0 && fullName[slash - 1] != UInt8(ascii: "/") { slash -= 1 }
            let path = UnsafeBufferPointer(rebasing: fullName[0..<max(slash - 1, 0)])
            blocks.enter(path, to: &out)
            name = UnsafeBufferPointer(rebasing: fullName[slash...])
            name = Blocks.tag(name)
            for _ in 0..<blocks.depth { write("  ", to: &out) }
        }
        write("  <", to: &out)
        write(name, to: &out)
        switch access {
        case .na: write(" ua=\"na\"", to: &out)
        case .ro: write(" ua=\"ro\"", to: &out)
        case .rw: write(" ua=\"rw\"", to: &out)
        case .none: break
        }
        if value.isEmpty && !setsEmpty {
            write("/>\n", to: &out)
            return
        }
        write(">", to: &out)
        XMLText.writeEscaped(value, to: &out)
        write("</", to: &out)
        write(name, to: &out)
        write(">\n", to: &out)
    }

    /// The block elements open while the document is written: the path of the last nested name, kept as its
    /// bytes (`router-configuration/Time_Setup`). Empty, and never allocated, for a profile without blocks.
    struct Blocks {
        var open: [UInt8] = []

        var isOpen: Bool { !open.isEmpty }
        /// The number of open blocks.
        var depth: Int {
            guard isOpen else { return 0 }
            var count = 1
            for byte in open where byte == UInt8(ascii: "/") { count += 1 }
            return count
        }

        /// A segment's tag: the segment without its `[n]`.
        static func tag(_ segment: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
            guard let last = segment.last, last == UInt8(ascii: "]"),
                  let bracket = segment.firstIndex(of: UInt8(ascii: "[")) else { return segment }
            return UnsafeBufferPointer(rebasing: segment[0..<bracket])
        }

        /// The segments of a path, as ranges.
        static func segments(_ path: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
            var ranges: [Range<Int>] = []
            guard !path.isEmpty else { return ranges }
            var start = 0
            for index in 0..<path.count where path[index] == UInt8(ascii: "/") {
                ranges.append(start..<index)
                start = index + 1
            }
            ranges.append(start..<path.count)
            return ranges
        }

        /// Closes the open blocks `path` is not inside and opens those of `path` not yet open.
        mutating func enter(_ path: UnsafeBufferPointer<UInt8>, to out: inout UnsafeMutablePointer<UInt8>) {
            if path.count == open.count && (path.isEmpty || memcmp(path.baseAddress!, open, open.count) == 0) { return }
            open.withUnsafeBufferPointer { old in
                let oldSegments = Self.segments(old), newSegments = Self.segments(path)
                var common = 0
                while common < oldSegments.count && common < newSegments.count {
                    let a = old[oldSegments[common]], b = path[newSegments[common]]
                    guard a.count == b.count, a.elementsEqual(b) else { break }
                    common += 1
                }
                var level = oldSegments.count
                while level > common {
                    level -= 1
                    for _ in 0...level { write("  ", to: &out) }
                    write("</", to: &out)
                    write(Self.tag(UnsafeBufferPointer(rebasing: old[oldSegments[level]])), to: &out)
                    write(">\n", to: &out)
                }
                for level in common..<newSegments.count {
                    for _ in 0...level { write("  ", to: &out) }
                    write("<", to: &out)
                    write(Self.tag(UnsafeBufferPointer(rebasing: path[newSegments[level]])), to: &out)
                    write(">\n", to: &out)
                }
            }
            open.removeAll(keepingCapacity: true)
            open.append(contentsOf: path)
        }

        mutating func closeAll(to out: inout UnsafeMutablePointer<UInt8>) {
            guard isOpen else { return }
            enter(UnsafeBufferPointer(start: nil, count: 0), to: &out)
        }
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

    /// A name may also be a path into nested blocks (the ATAs' `<router-configuration>`): at most 8 segments
    /// joined by `/`, each an element name optionally followed by `[n]` (1 to 4 digits) that keeps repeated
    /// elements of a block apart and in order; at most 255 bytes in all.
    static func isValidName(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty,
              memchr(base, Int32(UInt8(ascii: "/")), bytes.count) != nil else { return isValidElementName(bytes) }
        guard bytes.count <= 255 else { return false }
        let segments = FlatProfile.Blocks.segments(bytes)
        guard segments.count <= 8 else { return false }
        for range in segments {
            var segment = UnsafeBufferPointer(rebasing: bytes[range])
            if segment.last == UInt8(ascii: "]"),
               let bracket = segment.firstIndex(of: UInt8(ascii: "[")) {
                let digits = segment[(bracket + 1)..<(segment.count - 1)]
                guard (1...4).contains(digits.count),
                      digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return false }
                segment = UnsafeBufferPointer(rebasing: segment[0..<bracket])
            }
            guard isValidElementName(segment) else { return false }
        }
        return true
    }

    static func isValidElementName(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
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
