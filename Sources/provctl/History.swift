import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the audit log: every change, who made it, old -> new (secrets are stored masked).",
        discussion: """
            With a MAC: the changes to that device and its device scope. --scope: the changes to a scope's \
            settings and variables; --user: one person's changes (who is $SUDO_USER, else $USER); --since and \
            --until: a time span (2026-12-01, 2026-12-01T14:30, 2026-12-01T14:30:00Z (UTC), Unix seconds, or \
            30m, 2h, 7d ago). Each line is one change set: everything one command wrote (an import of 2,000 \
            rows is one line, ENTRIES 2000). Its ID is what provctl revert takes, undoing the whole set; UNDO says \
            whether it can be reverted. --set ID lists the entries of one set. IDs are never reused: a restore \
            is a set of its own and keeps the history before it.
            Examples: provctl history --scope group:sales --since 2d --user alice
                      provctl history --set 1284
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption
    @Argument(help: "Only changes about this device.", completion: .custom(Completion.macs)) var mac: String?
    @Option(help: "Only changes at this scope: default, model:NAME, group:NAME or device:MAC.",
            completion: .custom(Completion.scopes)) var scope: String?
    @Option(help: "Only changes by this user.") var user: String?
    @Option(help: "Only changes at or after this time.") var since: String?
    @Option(help: "Only changes before this time.") var until: String?
    @Option(help: "At most this many change sets (with --set: entries), newest first.") var limit = 100
    @Option(name: .customLong("set"), help: ArgumentHelp("List the entries of this change set.", valueName: "ID")) var changeSet: Int?

    func validate() throws {
        if let mac { _ = try parseMAC(mac) }
        if let scope { _ = try parseScope(scope) }
        if let since { _ = try parseTime(since, field: "--since") }
        if let until { _ = try parseTime(until, field: "--until") }
        if limit < 1 { throw ValidationError("--limit: at least 1") }
    }

    func run() throws {
        let opened = try store.open()
        var filter = AuditFilter(mac: try mac.map { try parseMAC($0) }, scope: try scope.map(parseScope), who: user,
                                 since: try since.map { try parseTime($0, field: "--since") },
                                 until: try until.map { try parseTime($0, field: "--until") }, limit: limit)
        if let changeSet {
            filter.changeSet = changeSet
            let entries = try opened.auditEntries(filter)
            if entries.isEmpty { throw Failure(.notFound, "--set: no change set #\(changeSet)", field: "--set", rule: "an ID provctl history prints") }
            var table = Table("ENTRY", "AT", "WHO", "ACTION", "TARGET", "UNDO", "CHANGE")
            for entry in entries {
                table.append([String(entry.id), timestamp(entry.at), entry.who, entry.action, entry.target,
                              entry.revertible ? "yes" : "-", "\(entry.oldValue ?? "-") -> \(entry.newValue ?? "-")"])
            }
            Output.emit(ListResult(table: table, items: entries.map { $0.json(changeSet: changeSet) }), json: format.json)
            return
        }
        let sets = try opened.changeSets(filter)
        var table = Table("ID", "AT", "WHO", "ACTION", "TARGET", "UNDO", "ENTRIES", "CHANGE")
        for set in sets {
            table.append([String(set.id), timestamp(set.at), set.who, Self.action(set), Self.target(set),
                          set.revertible ? "yes" : "-", String(set.entries), Self.change(set)])
        }
        Output.emit(ListResult(table: table, items: sets.map(\.json)), json: format.json)
    }

    static func action(_ set: ChangeSetSummary) -> String { set.actionSummary }
    static func target(_ set: ChangeSetSummary) -> String? { set.targetSummary }
    static func change(_ set: ChangeSetSummary) -> String { set.changeSummary }
}

/// A time argument as Unix seconds: `2026-12-01`, `2026-12-01T14:30[:00][Z]` or with a space (UTC), Unix seconds,
/// or a span ago: `30m`, `2h`, `7d`, `1w` (also `s`).
func parseTime(_ text: String, field: String, now: Int = ConfigurationEditor.now()) throws -> Int {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if let last = trimmed.last, let unit = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800][String(last)],
       let count = Int(trimmed.dropLast()), count >= 0 {
        return now - count * unit
    }
    if let seconds = Int(trimmed), trimmed.count >= 9 { return seconds }
    var text = trimmed.replacingOccurrences(of: " ", with: "T")
    if text.hasSuffix("Z") { text.removeLast() }
    let parts = text.split(separator: "T", maxSplits: 1).map(String.init)
    let date = parts.first?.split(separator: "-").compactMap { Int($0) } ?? []
    let clock = parts.count > 1 ? parts[1].split(separator: ":").compactMap { Int($0) } : []
    let clockParts = parts.count > 1 ? parts[1].split(separator: ":").count : 0
    guard date.count == 3, (1...12).contains(date[1]), (1...31).contains(date[2]), clock.count == clockParts,
          clock.count == 0 || clock.count == 2 || clock.count == 3,
          clock.allSatisfy({ $0 >= 0 }), clock.count < 1 || clock[0] < 24, clock.count < 2 || clock[1] < 60,
          clock.count < 3 || clock[2] < 61 else {
        throw ValidationError("\(field): \"\(text)\" is not a time: 2026-12-01, 2026-12-01T14:30[:00][Z] (UTC), Unix seconds, or 30m/2h/7d ago")
    }
    var parts_ = tm()
    parts_.tm_year = Int32(date[0] - 1900)
    parts_.tm_mon = Int32(date[1] - 1)
    parts_.tm_mday = Int32(date[2])
    parts_.tm_hour = Int32(clock.first ?? 0)
    parts_.tm_min = Int32(clock.count > 1 ? clock[1] : 0)
    parts_.tm_sec = Int32(clock.count > 2 ? clock[2] : 0)
    return Int(timegm(&parts_))
}
