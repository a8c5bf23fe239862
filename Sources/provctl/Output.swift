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

/// Writes a JSON value (dictionaries, arrays, strings, integers, booleans, `NSNull`) to stdout, keys sorted,
/// through the one output path (`Output`). Written by hand: JSONSerialization takes seconds for a list of
/// 100,000 devices.
func printJSON(_ value: Any) throws {
    Output.emit(AnyResult(value: value), json: true)
}

enum JSONText {
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\"".utf8
            case UInt8(ascii: "\\"): out += "\\\\".utf8
            case 0x0A: out += "\\n".utf8
            case 0x0D: out += "\\r".utf8
            case 0x09: out += "\\t".utf8
            case 0..<0x20, 0x7F:
                out += "\\u00".utf8
                Hex.append(byte, to: &out)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// `nil` as JSON null.
func json(_ value: String?) -> Any { value.map { $0 as Any } ?? NSNull() }
func json(_ value: Int?) -> Any { value.map { $0 as Any } ?? NSNull() }

/// Unix seconds as `2026-11-27T21:53:13Z`.
func timestamp(_ seconds: Int) -> String {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                  parts.tm_hour, parts.tm_min, parts.tm_sec)
}

/// True when stdout is a terminal (progress lines are only for people).
var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

/// A device's fields as JSON.
func deviceJSON(_ device: Device, seen: SeenRecord?, output: OutputOptions) -> [String: Any] {
    var object: [String: Any] = [
        "mac": device.mac.hex, "serial": json(device.serial), "model": json(device.model), "group": json(device.group),
        "enabled": device.enabled, "gzip": device.gzip, "encryption": device.encryption.name,
    ]
    switch device.encryption {
    case .none:
        object["key"] = NSNull()
        object["kdf"] = NSNull()
    case .aes256cbc(let key, let digest):
        object["key"] = output.shown(key: key)
        object["kdf"] = digest.rawValue
    case .aes128gcm(let key):
        object["key"] = output.shown(key: key.ikm)
        object["kdf"] = NSNull()
        object["key_id"] = key.keyID
        object["record_size"] = key.recordSize
    }
    object["account"] = device.account.map { account -> Any in
        ["user": account.user, "realm": account.realm, "ha1": output.shown(key: account.ha1) as Any]
    } ?? NSNull()
    object["bootstrap"] = device.bootstrap.rawValue
    object["seen"] = seen.map { seen -> Any in
        ["first": timestamp(seen.firstSeen), "last": timestamp(seen.lastSeen), "count": seen.count,
         "remote_addr": json(seen.remoteAddress), "firmware": json(seen.firmware)]
    } ?? NSNull()
    return object
}

/// A device as one line for the audit log and dry-run headers: the key masked unless `showSecrets`.
func describe(_ device: Device, showSecrets: Bool = false) -> String {
    var parts = ["mac=\(device.mac)"]
    parts.append("serial=\(device.serial ?? "-")")
    parts.append("model=\(device.model ?? "-")")
    parts.append("group=\(device.group ?? "-")")
    parts.append("enabled=\(device.enabled ? "yes" : "no")")
    parts.append("gzip=\(device.gzip ? "yes" : "no")")
    switch device.encryption {
    case .none: parts.append("encryption=none")
    case .aes256cbc(let key, let digest):
        parts.append("encryption=aes-256-cbc key=\(showSecrets ? key : Secrets.mask) kdf=\(digest.rawValue)")
    case .aes128gcm(let key):
        parts.append("encryption=aes128gcm key=\(showSecrets ? key.ikm : Secrets.mask) key-id=\(key.keyID.isEmpty ? "-" : key.keyID)"
                     + " record-size=\(key.recordSize)")
    }
    if let account = device.account {
        // The HA1 changes with the password: a change shows as a new mask, never as the hash.
        parts.append("account=\(account.user) realm=\(account.realm) password=\(showSecrets ? account.ha1 : Secrets.mask)")
    }
    if device.bootstrap != .none { parts.append("bootstrap=\(device.bootstrap.rawValue)") }
    return parts.joined(separator: " ")
}

/// Why a profile could not be rendered, in one line without secrets.
func provctlRenderProblem(_ error: any Error) -> String {
    if let refusal = error as? Refusal { return refusal.detail ?? refusal.reason }
    if let error = error as? RenderError, case .encoding(.noKey) = error { return "no encryption configured" }
    return "\(error)"
}

/// Rewrites the terminal's current line (a progress counter); only call it when stdout is a terminal.
func progressLine(_ text: String) {
    FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + text).utf8))
}

/// The bytes of a file, or `Failure(.runtime)` with the system's reason (`No such file or directory`).
func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else {
        throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
        if count < chunk.count {
            if ferror(file) != 0 { throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))") }
            break
        }
    }
    return bytes
}
