import Foundation
import Provisioning
import ProvisioningAdmin

/// Prints rows as aligned columns under an upper-case header.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }

    mutating func append(_ row: [String?]) { rows.append(row.map { $0 ?? "-" }) }

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (index, cell) in cells.enumerated() {
                let clean = TextEscaper.visible(cell, singleLine: true)
                if index == cells.count - 1 {
                    out += clean
                } else {
                    out += clean.padding(toLength: widths[index], withPad: " ", startingAt: 0) + "  "
                }
            }
            return out
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    func print() { Swift.print(render()) }
}

/// Every `print` in provctl goes through the one escaper (`TextEscaper`): what a caller wrote (a syslog line, a
/// User-Agent, a phone's SIP reply) cannot drive the admin's terminal. JSON is written by `Output` as bytes and
/// escapes control characters itself.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(TextEscaper.visible(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}

/// Writes a JSON value to stdout through the one output path (`Output`), whatever the format option says.
func printJSON(_ value: JSON) {
    Output.emit(ValueResult(json: value), json: true)
}

/// Unix seconds as `2026-11-27T21:53:13Z`.
func timestamp(_ seconds: Int) -> String { utcTimestamp(seconds) }

/// True when stdout is a terminal (progress lines are only for people).
var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

/// Rewrites the terminal's current line (a progress counter); only call it when stdout is a terminal.
func progressLine(_ text: String) {
    FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + text).utf8))
}

/// The bytes of a file, or `Failure(.runtime)` with the system's reason (`No such file or directory`).
func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else {
        throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))", cause: .system(errno: errno))
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
        if count < chunk.count {
            if ferror(file) != 0 { throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))", cause: .system(errno: errno)) }
            break
        }
    }
    return bytes
}
