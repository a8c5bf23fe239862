public import Provisioning

extension ChangeSetSummary {
    /// The set's action: its only one, else the word its actions share (`import` for `import add` and `import
    /// edit`), else them all.
    public var actionSummary: String {
        if actions.count == 1 { return actions[0] }
        let first = actions.map { $0.split(separator: " ").first.map(String.init) ?? $0 }
        return Set(first).count == 1 ? first[0] : actions.joined(separator: ", ")
    }

    /// Its target, or how many it has.
    public var targetSummary: String? {
        targets > 1 ? "\(targets) targets" : target
    }

    /// The change of a one-entry set (`old -> new`), else how many entries and how to list them.
    public var changeSummary: String {
        if entries == 1 { return "\(oldValue ?? "-") -> \(newValue ?? "-")" }
        return "\(entries) entries (provctl history --set \(id))"
    }
}
