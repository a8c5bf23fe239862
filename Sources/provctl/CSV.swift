import Provisioning

/// RFC 4180 CSV: fields separated by commas, records by CRLF (LF accepted), a field holding a comma, quote,
/// CR or LF is quoted with `"` and its quotes doubled.
enum CSV {
    struct Record {
        /// The line the record starts on, 1-based.
        var line: Int
        var fields: [String]
    }

    /// The records of `bytes`; blank lines are skipped. A malformed record is a `Failure(.refused)` naming its line.
    static func records(_ bytes: [UInt8]) throws -> [Record] {
        var records: [Record] = []
        try bytes.withUnsafeBufferPointer { buffer in
            var index = 0
            let count = buffer.count
            if count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { index = 3 }
            var line = 1
            func text(_ start: Int, _ end: Int, _ recordLine: Int) throws -> String {
                guard let string = String(validating: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self) else {
                    throw Failure(.refused, "line \(recordLine): not UTF-8 text")
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
                            guard index < count else { throw Failure(.refused, "line \(recordLine): a quoted field is not closed") }
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
                            throw Failure(.refused, "line \(recordLine): not UTF-8 text")
                        }
                        fields.append(string)
                        if index < count && buffer[index] != UInt8(ascii: ",") && buffer[index] != 0x0D && buffer[index] != 0x0A {
                            throw Failure(.refused, "line \(line): text after a closing quote (quote the whole field, double inner quotes)")
                        }
                    } else {
                        let start = index
                        while index < count {
                            let byte = buffer[index]
                            if byte == UInt8(ascii: ",") || byte == 0x0D || byte == 0x0A { break }
                            if byte == UInt8(ascii: "\"") {
                                throw Failure(.refused, "line \(line): a quote inside an unquoted field (quote the field and double the quote)")
                            }
                            index += 1
                        }
                        fields.append(try text(start, index, recordLine))
                    }
                    if index >= count {
                        endOfRecord = true
                    } else if buffer[index] == UInt8(ascii: ",") {
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

    /// One field, quoted when it must be.
    static func field(_ text: String) -> String {
        let needsQuotes = text.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A }
            || text.hasPrefix(" ") || text.hasSuffix(" ")
        guard needsQuotes else { return text }
        var out = "\""
        for character in text {
            if character == "\"" { out += "\"\"" } else { out.append(character) }
        }
        return out + "\""
    }

    /// One record with its CRLF.
    static func line(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") + "\r\n" }
}

/// The `variables` cell: `name=value;name=value`, a `;` or `\` inside a value written `\;` or `\\`.
enum VariablesCell {
    static func parse(_ cell: String) throws -> [(name: String, value: String)] {
        var pairs: [(String, String)] = []
        var current: [Character] = []
        var parts: [String] = []
        var escaped = false
        for character in cell {
            if escaped {
                if character != ";" && character != "\\" { current.append("\\") }
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ";" {
                parts.append(String(current))
                current = []
            } else {
                current.append(character)
            }
        }
        if escaped { current.append("\\") }
        parts.append(String(current))
        for part in parts where !part.allSatisfy({ $0 == " " }) {
            guard let equals = part.firstIndex(of: "=") else { throw CellError(text: part) }
            let name = String(part[..<equals]).trimmingSpacesAndTabs
            guard !name.isEmpty else { throw CellError(text: part) }
            pairs.append((name, String(part[part.index(after: equals)...])))
        }
        return pairs
    }

    static func format(_ pairs: [(name: String, value: String)]) -> String {
        pairs.map { pair in
            var value = ""
            for character in pair.value {
                if character == ";" || character == "\\" { value.append("\\") }
                value.append(character)
            }
            return pair.name + "=" + value
        }.joined(separator: ";")
    }

    struct CellError: Error {
        var text: String
    }
}

extension String {
    var trimmingSpacesAndTabs: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
