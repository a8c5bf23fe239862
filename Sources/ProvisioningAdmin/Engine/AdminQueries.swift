public import Provisioning

/// The reads the admin's commands make beside the stores' own: completion, a change set's origin.
extension DeviceStore {
    /// The stored MACs (lower-case hex) that start with `prefix`, in order, at most `limit` (shell completion).
    public func macs(startingWith prefix: String, limit: Int) throws(SQLiteError) -> [String] {
        let statement = try database.prepare("SELECT mac FROM devices WHERE mac LIKE ?1 || '%' ORDER BY mac LIMIT ?2")
        try statement.bind(1, prefix.lowercased())
        try statement.bind(2, limit)
        var out: [String] = []
        while try statement.step() { if let text = statement.text(0) { out.append(text) } }
        return out
    }

    /// The first audit entry of change set `set` and how many entries the set has (what a revert's own entry
    /// names).
    public func changeSetOrigin(_ set: Int) throws(SQLiteError) -> ChangeSetOrigin {
        let statement = try database.prepare("""
            SELECT action, target, old_value, new_value, (SELECT count(*) FROM audit WHERE coalesce(change_set, id) = ?1)
            FROM audit WHERE id = ?1
            """)
        try statement.bind(1, set)
        _ = try statement.step()
        return ChangeSetOrigin(action: statement.text(0), target: statement.text(1), old: statement.text(2),
                               new: statement.text(3), entries: statement.int(4))
    }
}

/// A change set's first entry and its size.
public struct ChangeSetOrigin: Sendable {
    public var action: String?
    public var target: String?
    public var old: String?
    public var new: String?
    public var entries: Int
}
