public import Provisioning
import Foundation

/// What the fleet's metrics are made of (issue 25, `/metrics`), read from the configuration and the journals. No
/// figure is keyed by anything a phone or a stranger chooses: a label value is one of a closed set (a status, a
/// reason of the refusal catalogue, a form, a node that ships its journal home) or, for the model and the firmware,
/// taken from a request whose certificate was proven and kept only when it looks like a model or a version; an
/// unproven request counts under `unproven`, a value that looks like neither under `other`. No MAC, address or user.
public enum FleetFigures {
    /// One label set of the fetch counter.
    public struct FetchLabels: Hashable, Sendable {
        public var node: String
        public var status: String
        public var reason: String
        public var form: String
        public var model: String
        public var firmware: String
    }

    /// Where the fetch counter has read up to: per node, the last `fetches.id` counted.
    public typealias Cursors = [String: Int]

    /// The fetches recorded since `cursors` (every retained row on the first call), counted by label set, and the
    /// cursors to pass next time. Journal rows are pruned from the oldest, never renumbered, so counting past the
    /// last id seen never counts a row twice.
    public static func fetchesSince(_ cursors: Cursors, in store: ConfigurationEditor) throws(SQLiteError)
        -> (counts: [FetchLabels: Int], cursors: Cursors) {
        guard !store.journal.attached.isEmpty else { return ([:], cursors) }
        var counts: [FetchLabels: Int] = [:]
        var next = cursors
        // Only the rows past each known node's cursor, and every row of a node not seen yet: a scrape reads what
        // is new, not the whole retained journal.
        var values: [SQLiteValue] = []
        var past: [String] = []
        for (node, id) in cursors.sorted(by: { $0.key < $1.key }) {
            values += [.text(node), .integer(id)]
            past.append("(node = ?\(values.count - 1) AND id > ?\(values.count))")
        }
        let unseen = values.isEmpty ? "1" : "node NOT IN (" + stride(from: 1, to: values.count, by: 2).map { "?\($0)" }.joined(separator: ", ") + ")"
        let statement = try store.database.prepare("""
            SELECT node, id, status, reason, coalesce(form, ''), model, firmware, coalesce(trusted, 0)
            FROM fetches WHERE \((past + [unseen]).joined(separator: " OR "))
            """)
        try statement.bind(values)
        while try statement.step() {
            let node = statement.text(0) ?? ""
            let id = statement.int(1)
            next[node] = max(next[node] ?? 0, id)
            let proven = statement.int(7) != 0
            let labels = FetchLabels(
                node: nodeLabel(node),
                status: String(statement.int(2)),
                reason: reasonLabel(statement.text(3) ?? ""),
                form: formLabel(statement.text(4) ?? ""),
                model: proven ? modelLabel(statement.text(5)) : "unproven",
                firmware: proven ? firmwareLabel(statement.text(6)) : "unproven")
            counts[labels, default: 0] += 1
        }
        return (counts, next)
    }

    /// The reasons a journal row may carry: the refusal catalogue's and `ok`.
    static let reasons: Set<String> = Set(RefusalKind.allCases.map(\.reason)).union(["ok"])

    static func reasonLabel(_ reason: String) -> String { reasons.contains(reason) ? reason : "other" }

    static func formLabel(_ form: String) -> String {
        ["xml", "gz", "cfg", "report", ""].contains(form) ? (form.isEmpty ? "none" : form) : "other"
    }

    /// A node name as `provctl node` makes them (letters, digits, `.`, `-`, `_`, at most 64).
    static func nodeLabel(_ node: String) -> String { looks(node, max: 64, extra: "._-") ? node : "other" }

    /// A model as the certificates carry it (`CP-8841-3PCC`).
    static func modelLabel(_ model: String?) -> String {
        guard let model, !model.isEmpty else { return "none" }
        return looks(model, max: 32, extra: "-_.") ? model : "other"
    }

    /// The firmware of a User-Agent (`sip88xx.12-0-1MPP-123`).
    static func firmwareLabel(_ firmware: String?) -> String {
        guard let firmware, !firmware.isEmpty else { return "none" }
        return looks(firmware, max: 48, extra: "-_.()") ? firmware : "other"
    }

    static func looks(_ text: String, max: Int, extra: String) -> Bool {
        text.utf8.count <= max && text.unicodeScalars.allSatisfy { scalar in
            (scalar.value < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar))))
                || extra.unicodeScalars.contains(scalar)
        }
    }

    /// Devices by model and whether they are enabled (a model name as the admin stored it).
    public static func devices(in store: ConfigurationEditor) throws(SQLiteError) -> [(model: String, enabled: Bool, count: Int)] {
        let statement = try store.database.prepare("""
            SELECT coalesce(model, ''), enabled, count(*) FROM devices GROUP BY 1, 2 ORDER BY 1, 2
            """)
        var rows: [(String, Bool, Int)] = []
        while try statement.step() {
            rows.append((modelLabel(statement.text(0)), statement.int(1) != 0, statement.int(2)))
        }
        return rows
    }

    /// Unknown phones waiting in `claims`.
    public static func claims(in store: ConfigurationEditor) throws(SQLiteError) -> Int {
        guard !store.journal.attached.isEmpty else { return 0 }
        let statement = try store.database.prepare("SELECT count(*) FROM claims")
        return try statement.step() ? statement.int(0) : 0
    }

    /// Per node: the time of the newest record of its journal (microseconds), what the admin node has of it.
    /// For a read node, its age is how far behind the admin's view of it is (its journal is shipped home).
    public static func newestRecord(in store: ConfigurationEditor) throws(SQLiteError) -> [(node: String, at: Int)] {
        guard !store.journal.attached.isEmpty else { return [] }
        let statement = try store.database.prepare("SELECT node, max(at) FROM fetches GROUP BY node ORDER BY node")
        var rows: [(String, Int)] = []
        while try statement.step() { rows.append((nodeLabel(statement.text(0) ?? ""), statement.int(1))) }
        return rows
    }

    /// Pending devices by state (a device in two states counts in both), every state of `PendingDevice` present.
    public static func pendingByState(in store: ConfigurationEditor) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for state in pendingStates { counts[state] = 0 }
        try PendingScan(store: store).run { entry in
            for state in entry.states { counts[state.replacingOccurrences(of: " ", with: "_"), default: 0] += 1 }
        }
        return counts
    }

    /// The states `provctl pending` names (docs/loop.md), spaces as `_` (`stale` needs a limit, so it is not here).
    public static let pendingStates = ["changed", "never_seen", "unknown", "render_error", "bootstrap", "refused_by_server",
                                       "failed_on_phone", "report_differs"]
}

extension FleetFigures {
    /// Failed answers (status 400 and up) since `since` (Unix microseconds), by status and reason, most first.
    public static func failures(since: Int, in store: ConfigurationEditor) throws(SQLiteError) -> [(status: Int, reason: String, count: Int)] {
        guard !store.journal.attached.isEmpty else { return [] }
        let statement = try store.database.prepare("""
            SELECT status, reason, count(*) FROM fetches WHERE at >= ?1 AND status >= 400 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
            """)
        try statement.bind(1, since)
        var rows: [(Int, String, Int)] = []
        while try statement.step() { rows.append((statement.int(0), reasonLabel(statement.text(1) ?? ""), statement.int(2))) }
        return rows
    }

    /// The firmware the devices last fetched with (the `seen` rows, which only a proven fetch writes), most first.
    public static func firmware(in store: ConfigurationEditor, limit: Int = 12) throws(SQLiteError) -> [(firmware: String, count: Int)] {
        guard !store.journal.attached.isEmpty else { return [] }
        let statement = try store.database.prepare("""
            SELECT coalesce(firmware, ''), count(*) FROM seen GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?1
            """)
        try statement.bind(1, limit)
        var rows: [(String, Int)] = []
        while try statement.step() { rows.append((statement.text(0) ?? "", statement.int(1))) }
        return rows
    }
}
