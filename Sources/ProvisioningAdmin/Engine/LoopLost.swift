public import Provisioning

/// What serving could not record on one node, of one kind (`fetch`, ...): the `lost` rows of every journal summed.
public struct LostRecordRow: Sendable, Equatable {
    public var node: String
    public var what: String
    public var count: Int
    /// Unix seconds of the first and last record lost.
    public var first: Int
    public var last: Int
}

extension ConfigurationEditor {
    /// The `lost` rows of every journal (the view over them), per node and kind, ordered by both; empty when the
    /// journals are not attached (no view).
    public func lostRecords() -> [LostRecordRow] {
        var rows: [LostRecordRow] = []
        guard let statement = try? database.prepare(
            "SELECT node, what, sum(count), min(first_at), max(last_at) FROM lost GROUP BY node, what ORDER BY node, what") else { return rows }
        while (try? statement.step()) == true {
            rows.append(LostRecordRow(node: statement.text(0) ?? "", what: statement.text(1) ?? "", count: statement.int(2),
                                      first: statement.int(3), last: statement.int(4)))
        }
        return rows
    }

    /// Every device's MAC (12 lower-case hex digits), in order: the boundaries `render --all` splits its workers at.
    public func deviceMACs() throws(SQLiteError) -> [String] {
        var macs: [String] = []
        let list = try database.prepare("SELECT mac FROM devices ORDER BY mac")
        while try list.step() { macs.append(list.text(0) ?? "") }
        return macs
    }
}
