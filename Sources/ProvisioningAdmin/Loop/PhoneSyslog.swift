public import Provisioning
import Foundation

/// Reads a phone's syslog lines as rsyslog writes them to a file, and picks out the resync and upgrade messages.
///
/// rsyslog's two file formats: `RSYSLOG_FileFormat` (Debian 12's default: `2026-12-02T10:02:03.123456+01:00 HOST
/// MSG`) and `RSYSLOG_TraditionalFileFormat` (`Dec  2 10:02:03 HOST MSG`, local time, no year: the year is the
/// one that puts the line no later than tomorrow). The phone's messages default to `$PN $MAC Requesting resync
/// $SCHEME://$SERVIP:$PORT$PATH`, `$PN $MAC Successful resync ...` and `$PN $MAC Resync failed: $ERR`
/// (`Log_Request_Msg`, `Log_Success_Msg`, `Log_Failure_Msg`), and `Syslog_Identifier` may put `$MA`, `$MAU`,
/// `$MAC` or `$SN` in front: the device is the first word that is a known device's MAC (any spelling) or
/// serial.
public struct PhoneSyslog {
    /// The literal text each kind of message contains: the defaults, and the fixed text of the configured
    /// `Log_*_Msg` values (their longest run without a `$macro`).
    public var patterns: [(kind: String, text: String)] = [
        ("request", "Requesting resync"), ("success", "Successful resync"), ("failure", "Resync failed"),
        // Firmware upgrades (Log_Upgrade_Request_Msg, _Success_Msg, _Failure_Msg): what a campaign judges by.
        ("upgrade_request", "Requesting upgrade"), ("upgrade_success", "Successful upgrade"), ("upgrade_failure", "Upgrade failed"),
    ]
    /// MAC (hex) and upper-cased serial of every device, to tell which word names the device.
    let devices: Set<String>
    let serials: [String: MACAddress]
    let now: Int

    public init(devices: [Device], configuredMessages: [(name: String, value: String)], now: Int) {
        self.devices = Set(devices.map(\.mac.hex))
        var serials: [String: MACAddress] = [:]
        for device in devices { if let serial = device.serial, !serial.isEmpty { serials[serial.uppercased()] = device.mac } }
        self.serials = serials
        self.now = now
        for (name, value) in configuredMessages {
            let kind: String
            switch name {
            case "Log_Request_Msg": kind = "request"
            case "Log_Success_Msg": kind = "success"
            case "Log_Failure_Msg": kind = "failure"
            case "Log_Upgrade_Request_Msg": kind = "upgrade_request"
            case "Log_Upgrade_Success_Msg": kind = "upgrade_success"
            case "Log_Upgrade_Failure_Msg": kind = "upgrade_failure"
            default: continue
            }
            if let text = Self.fixedText(value), !patterns.contains(where: { $0.text == text }) {
                patterns.insert((kind, text), at: 0)
            }
        }
    }

    /// The longest run of `template` without a `$macro` (`$PN`, `$(A)`, `$MAC`), trimmed; nil when under 4
    /// characters (too little to tell a message by).
    static func fixedText(_ template: String) -> String? {
        var runs: [String] = []
        var current = ""
        var index = template.startIndex
        while index < template.endIndex {
            let character = template[index]
            if character == "$" {
                runs.append(current)
                current = ""
                index = template.index(after: index)
                if index < template.endIndex, template[index] == "(" {
                    while index < template.endIndex, template[index] != ")" { index = template.index(after: index) }
                    if index < template.endIndex { index = template.index(after: index) }
                } else {
                    while index < template.endIndex, template[index].isLetter || template[index].isNumber || template[index] == "_" {
                        index = template.index(after: index)
                    }
                }
                continue
            }
            current.append(character)
            index = template.index(after: index)
        }
        runs.append(current)
        let best = runs.map { $0.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: ":-"))) }
            .max { $0.count < $1.count } ?? ""
        return best.count >= 4 ? best : nil
    }

    /// What one line yields.
    public enum Outcome: Equatable {
        /// A resync message (or, with `all`, any message) of a known device.
        case line(PhoneLine)
        /// A message naming no known device (the MAC-looking word, if any).
        case unknownDevice(String?)
        /// A known device's line that is no resync message.
        case notResync
        /// No timestamp rsyslog writes.
        case unreadable
    }

    /// Reads one line of the file; `all` keeps every message of a known device, not only resync messages.
    public func read(_ line: Substring, all: Bool = false) -> Outcome {
        guard let (at, rest) = Self.timestamp(line, now: now) else { return .unreadable }
        // The host, then the message.
        var words = rest.split(separator: " ", omittingEmptySubsequences: true)
        guard !words.isEmpty else { return .unreadable }
        let host = String(words.removeFirst())
        let message = words.joined(separator: " ")
        var mac: MACAddress?
        var candidate: String?
        for word in words.prefix(6) {
            let clean = word.trimmingCharacters(in: CharacterSet(charactersIn: ":[]<>(),;"))
            if let found = MACAddress(clean) {
                if devices.contains(found.hex) { mac = found; break }
                if candidate == nil { candidate = found.hex }
            } else if let found = serials[clean.uppercased()] {
                mac = found
                break
            }
        }
        guard let mac else { return .unknownDevice(candidate) }
        var kind = "other"
        for pattern in patterns where message.range(of: pattern.text, options: .caseInsensitive) != nil {
            kind = pattern.kind
            break
        }
        if kind == "other" && !all { return .notResync }
        let text = String(message.prefix(1000))
        return .line(PhoneLine(at: at, mac: mac, kind: kind, message: text, host: host))
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The line's time in Unix microseconds and the text after it.
    static func timestamp(_ line: Substring, now: Int) -> (Int, Substring)? {
        let bytes = Array(line.utf8.prefix(40))
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for index in range {
                guard bytes[index] >= 48 && bytes[index] <= 57 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
            }
            return value
        }
        // 2026-12-02T10:02:03[.ffffff](Z|+hh:mm)
        if bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
           let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
           let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) {
            var index = 19
            var micros = 0
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                var digits = 0
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    if digits < 6 { micros = micros * 10 + Int(bytes[index] - 48); digits += 1 }
                    index += 1
                }
                while digits < 6 { micros *= 10; digits += 1 }
            }
            var offset = 0
            if index < bytes.count, bytes[index] == UInt8(ascii: "Z") {
                index += 1
            } else if index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"),
                      let hours = number((index + 1)..<(index + 3)), let minutes = number((index + 4)..<(index + 6)) {
                offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
                index += 6
            } else {
                return nil
            }
            var parts = tm()
            parts.tm_year = Int32(year - 1900)
            parts.tm_mon = Int32(month - 1)
            parts.tm_mday = Int32(day)
            parts.tm_hour = Int32(hour)
            parts.tm_min = Int32(minute)
            parts.tm_sec = Int32(second)
            let seconds = timegm(&parts) - offset
            return (seconds * 1_000_000 + micros, line.dropFirst(index))
        }
        // Dec  2 10:02:03
        if bytes.count >= 16, let month = months.firstIndex(of: String(decoding: bytes[0..<3], as: UTF8.self)),
           bytes[3] == 0x20, bytes[9] == UInt8(ascii: ":"), bytes[12] == UInt8(ascii: ":"),
           let hour = number(7..<9), let minute = number(10..<12), let second = number(13..<15) {
            let day = number(4..<6) ?? number(5..<6)
            guard let day else { return nil }
            var current = time_t(now / 1_000_000)
            var today = tm()
            localtime_r(&current, &today)
            for year in [today.tm_year, today.tm_year - 1] {
                var parts = tm()
                parts.tm_year = year
                parts.tm_mon = Int32(month)
                parts.tm_mday = Int32(day)
                parts.tm_hour = Int32(hour)
                parts.tm_min = Int32(minute)
                parts.tm_sec = Int32(second)
                parts.tm_isdst = -1
                let seconds = mktime(&parts)
                if seconds <= current + 86_400 { return (seconds * 1_000_000, line.dropFirst(15)) }
            }
            return nil
        }
        return nil
    }
}
