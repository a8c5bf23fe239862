import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// Reads `--since`: an ISO 8601 time (`2026-12-02T10:00:00Z`, `2026-12-02T10:00`, `2026-12-02`; without a zone
/// it is UTC) or an age (`30s`, `15m`, `2h`, `7d`). Returns Unix microseconds.
func parseSince(_ text: String, now: Int = Clock.unixMicroseconds()) throws -> Int {
    if let unit = text.last, "smhd".contains(unit), let count = Int(text.dropLast()), count >= 0 {
        let seconds = ["s": 1, "m": 60, "h": 3600, "d": 86_400][String(unit)]!
        return now - count * seconds * 1_000_000
    }
    if let seconds = parseTime(text) { return seconds * 1_000_000 }
    throw ValidationError("--since: \"\(text)\" must be a time (2026-12-02T10:00:00Z, 2026-12-02) or an age (30m, 2h, 7d)")
}

/// Reads a duration (`90s`, `15m`, `6h`, `3d`, or plain seconds) for options such as `--stale-after`.
func parseDuration(_ text: String, option: String) throws -> Int {
    if let seconds = Int(text), seconds > 0 { return seconds }
    if let unit = text.last, "smhd".contains(unit), let count = Int(text.dropLast()), count > 0 {
        return count * ["s": 1, "m": 60, "h": 3600, "d": 86_400][String(unit)]!
    }
    throw ValidationError("\(option): \"\(text)\" must be a duration (seconds, or 90s, 15m, 6h, 3d)")
}

/// `YYYY-MM-DD[THH:MM[:SS]][Z|±HH:MM]` as Unix seconds.
func parseTime(_ text: String) -> Int? {
    let pattern = #"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"#
    guard let regex = try? NSRegularExpression(pattern: pattern),
          let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
    func group(_ index: Int) -> String? {
        guard let range = Range(match.range(at: index), in: text) else { return nil }
        return String(text[range])
    }
    var parts = tm()
    parts.tm_year = Int32(group(1)!)! - 1900
    parts.tm_mon = Int32(group(2)!)! - 1
    parts.tm_mday = Int32(group(3)!)!
    parts.tm_hour = Int32(group(4) ?? "0")!
    parts.tm_min = Int32(group(5) ?? "0")!
    parts.tm_sec = Int32(group(6) ?? "0")!
    var seconds = timegm(&parts)
    if let zone = group(7), zone != "Z" {
        let sign = zone.hasPrefix("-") ? -1 : 1
        let hours = Int(zone.dropFirst().prefix(2))!, minutes = Int(zone.suffix(2))!
        seconds -= sign * (hours * 3600 + minutes * 60)
    }
    return seconds
}

/// Unix microseconds as `2026-12-02T10:02:03Z`.
func timestamp(micros: Int) -> String { utcTimestamp(micros / 1_000_000) }

/// The local journal, opened for provctl's own writes (`phone_log`, `retention`, pruning). A journal provctl has
/// to create is given the owner and group of its folder when provctl runs as root, so that profile-cgi (the web
/// server's user) can still write it.
func openLocalJournal(_ store: StoreOptions) throws -> SQLiteDatabase {
    let path = store.journals.local
    let existed = FileManager.default.fileExists(atPath: path)
    let node = Configuration(environment: ProcessInfo.processInfo.environment).node
    let database: SQLiteDatabase
    do {
        database = try Journal(path: path, node: node).openForAdmin(waitMilliseconds: 2000)
    } catch {
        throw Failure(.runtime, "journal \(path): \(error)", underlying: error)
    }
    if !existed && geteuid() == 0 {
        var folder = stat()
        if stat(FilePath.directory(of: path), &folder) == 0 {
            for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                _ = chown(file, folder.st_uid, folder.st_gid)
                _ = chmod(file, 0o664)
            }
        }
    }
    return database
}

/// The drift of one device against its stored report.
func drift(of device: Device, report: StoredReport, loop: DeviceLoop) throws -> [DriftEntry] {
    do {
        return try loop.drift(of: device, report: report)
    } catch {
        throw Failure(.runtime, error.description, underlying: error)
    }
}
