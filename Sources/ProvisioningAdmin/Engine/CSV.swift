/// RFC 4180 CSV: fields separated by commas (or `;` or tab when reading), records by CRLF (LF accepted), a field holding a comma, quote,
/// CR or LF is quoted with `"` and its quotes doubled.
public enum CSV {
    public struct Record: Sendable {
        public init(line: Int, fields: [String]) {
            self.line = line
            self.fields = fields
        }

        /// The line the record starts on, 1-based.
        public var line: Int
        public var fields: [String]
    }

    /// The records of `bytes`; blank lines are skipped. A malformed record is a `AdminError(.refused)` naming its line.
    public static func records(_ bytes: [UInt8], delimiter: UInt8 = UInt8(ascii: ",")) throws -> [Record] {
        var records: [Record] = []
        try bytes.withUnsafeBufferPointer { buffer in
            var index = 0
            let count = buffer.count
            if count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { index = 3 }
            var line = 1
            func text(_ start: Int, _ end: Int, _ recordLine: Int) throws -> String {
                guard let string = String(validating: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self) else {
                    throw AdminError(.refused, "line \(recordLine): not UTF-8 text")
                }
                return string
            }
            while index < count {
                let recordLine = line
                var fields: [String] = []
                var endOfRecord = false
                while !endOfRecord {
                    if index < count && buffer[index] == UInt8(ascii: "\"") {
                        index += 1
                        var bytes: [UInt8] = []
                        while true {
                            guard index < count else { throw AdminError(.refused, "line \(recordLine): a quoted field is not closed") }
                            let byte = buffer[index]
                            if byte == UInt8(ascii: "\"") {
                                if index + 1 < count && buffer[index + 1] == UInt8(ascii: "\"") {
                                    bytes.append(byte)
                                    index += 2
                                    continue
                                }
                                index += 1
                                break
                            }
                            if byte == 0x0A { line += 1 }
                            bytes.append(byte)
                            index += 1
                        }
                        guard let string = String(validating: bytes, as: UTF8.self) else {
                            throw AdminError(.refused, "line \(recordLine): not UTF-8 text")
                        }
                        fields.append(string)
                        if index < count && buffer[index] != delimiter && buffer[index] != 0x0D && buffer[index] != 0x0A {
                            throw AdminError(.refused, "line \(line): text after a closing quote (quote the whole field, double inner quotes)")
                        }
                    } else {
                        let start = index
                        while index < count {
                            let byte = buffer[index]
                            if byte == delimiter || byte == 0x0D || byte == 0x0A { break }
                            if byte == UInt8(ascii: "\"") {
                                throw AdminError(.refused, "line \(line): a quote inside an unquoted field (quote the field and double the quote)")
                            }
                            index += 1
                        }
                        fields.append(try text(start, index, recordLine))
                    }
                    if index >= count {
                        endOfRecord = true
                    } else if buffer[index] == delimiter {
                        index += 1
                        if index >= count { fields.append(""); endOfRecord = true }
                    } else {
                        if buffer[index] == 0x0D { index += 1 }
                        if index < count && buffer[index] == 0x0A { index += 1 }
                        line += 1
                        endOfRecord = true
                    }
                }
                if fields.count == 1 && fields[0].isEmpty { continue }
                records.append(Record(line: recordLine, fields: fields))
            }
        }
        return records
    }

    /// The delimiter of a file: the most frequent of `,` `;` and tab on its first line outside quotes (a comma
    /// when none is there or they tie).
    public static func sniffDelimiter(_ bytes: [UInt8]) -> UInt8 {
        var counts: [UInt8: Int] = [UInt8(ascii: ","): 0, UInt8(ascii: ";"): 0, 0x09: 0]
        var quoted = false
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { quoted.toggle(); continue }
            if !quoted && (byte == 0x0A || byte == 0x0D) { break }
            if !quoted, counts[byte] != nil { counts[byte]! += 1 }
        }
        let comma = counts[UInt8(ascii: ",")]!
        let best = counts.max { $0.value < $1.value || ($0.value == $1.value && $1.key == UInt8(ascii: ",")) }!
        return best.value > comma ? best.key : UInt8(ascii: ",")
    }

    /// One field, quoted when it must be.
    public static func field(_ text: String) -> String {
        let needsQuotes = text.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A }
            || text.hasPrefix(" ") || text.hasSuffix(" ")
        guard needsQuotes else { return text }
        var out = "\""
        for character in text {
            if character == "\"" { out += "\"\"" } else { out.append(character) }
        }
        return out + "\""
    }

    /// One record with its CRLF. `neutralise`: each cell a spreadsheet would run as a formula is written as text
    /// (`neutralised`).
    public static func line(_ fields: [String], neutralise: Bool = false) -> String {
        fields.map { field(neutralise ? neutralised($0) : $0) }.joined(separator: ",") + "\r\n"
    }

    /// The characters a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"): `=`, `+`, `-`,
    /// `@`, tab and carriage return, and their full-width forms.
    public static let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}"]

    /// A cell as text for a spreadsheet: OWASP's rule, a single quote before a cell that starts with a formula
    /// character (`=HYPERLINK(...)` is written `'=HYPERLINK(...)`). `provctl import` takes the quote off again
    /// (`unneutralised`), so an export imports back unchanged.
    public static func neutralised(_ cell: String) -> String {
        guard let first = cell.first, formulaStarts.contains(first) || (first == "'" && cell.dropFirst().first.map(formulaStarts.contains) == true) else {
            return cell
        }
        return "'" + cell
    }

    /// `neutralised` undone: one leading `'` before a formula character (or before another such quote) goes.
    public static func unneutralised(_ cell: String) -> String {
        guard cell.hasPrefix("'"), let second = cell.dropFirst().first,
              formulaStarts.contains(second) || (second == "'" && cell.dropFirst(2).first.map(formulaStarts.contains) == true) else {
            return cell
        }
        return String(cell.dropFirst())
    }
}

extension String {
    /// The string without the spaces and tabs at either end (a CSV cell's padding).
    package var trimmingSpacesAndTabs: String {
        guard let first = utf8.first, let last = utf8.last else { return self }
        if first != 0x20 && first != 0x09 && last != 0x20 && last != 0x09 { return self }
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
