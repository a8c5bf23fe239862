public import Provisioning

/// What a revert puts back (`provctl revert`): change sets newest first, each with its entries (newest first)
/// and their row changes, and what they touch (to render before and after).
public struct RevertPlan {
    public struct ChangeSet {
        public var set: Int
        public var entries: [(entry: Int, changes: [RowChange])]
    }

    public var sets: [ChangeSet]
    public var macs: Set<MACAddress> = []
    public var scopes: Set<Scope> = []

    /// The change set `id`; an ID that names no change set with undo rows is `.notFound`, saying what it is.
    public static func changeSet(_ id: Int, in store: ConfigurationEditor) throws -> RevertPlan {
        let entries = try store.changeSetEntries(id)
        if entries.isEmpty {
            let set = try store.changeSet(of: id)
            let message: String
            if let set, set != id {
                message = "ID: #\(id) is an entry of change set #\(set): provctl revert \(set) undoes the whole command"
            } else if set != nil {
                message = "ID: change set #\(id) changed no stored row (or predates the undo log): nothing to revert"
            } else {
                message = "ID: no change set #\(id)"
            }
            throw AdminError(.notFound, message, field: "ID", rule: "an ID provctl history prints with UNDO yes")
        }
        return try RevertPlan([(id, entries)], in: store)
    }

    /// Every revertible change set at or after `since` (seconds since the epoch); empty when there is none.
    public static func since(_ since: Int, in store: ConfigurationEditor) throws -> RevertPlan {
        try RevertPlan(store.revertibleChangeSets(since: since).map { ($0, try store.changeSetEntries($0)) }, in: store)
    }

    init(_ sets: [(set: Int, entries: [Int])], in store: ConfigurationEditor) throws {
        self.sets = []
        for (set, ids) in sets {
            var entries: [(entry: Int, changes: [RowChange])] = []
            for id in ids {
                let changes = try store.rowChanges(entry: id)
                let touched = try store.touched(by: changes)
                macs.formUnion(touched.macs)
                scopes.formUnion(touched.scopes)
                entries.append((id, changes))
            }
            self.sets.append(ChangeSet(set: set, entries: entries))
        }
    }
}

extension ChangeEngine {
    /// Reverts the plan's change sets in one change (rendered before and after, or a dry run): one audit entry per
    /// change set, over all the rows it put back. A row changed again since is a `RevertConflict` unless `force`.
    public func revert(_ plan: RevertPlan) throws -> Edited<EditSummary> {
        let reach = {
            var reach = Reach.some(plan.macs)
            for scope in plan.scopes { reach = reach.union(try .scope(scope, in: store)) }
            return reach
        }
        let outcome = try run(reach: reach) { audit in
            for changeSet in plan.sets {
                let set = changeSet.set
                for (id, changes) in changeSet.entries { try store.revert(entry: id, changes: changes, force: mode.force) }
                let original = try store.changeSetOrigin(set)
                let count = original.entries
                if count == 1 {
                    try audit.record("revert", target: original.target,
                                     old: original.new, new: "\(original.old ?? "-") (reverts #\(set) \(original.action ?? ""))")
                } else {
                    try audit.record("revert", target: nil, old: nil,
                                     new: "reverts change set #\(set) (\(original.action ?? "")..., \(count) entries)")
                }
            }
        }
        switch outcome {
        case .dryRun(let report): return .dryRun(report)
        case .written(let ids, let changeSet):
            let sets = plan.sets.map(\.set)
            return .written(EditSummary(action: "revert", message: "reverted \(sets.count) change set\(sets.count == 1 ? "" : "s"): "
                                        + sets.map { "#\($0)" }.joined(separator: ", "), count: sets.count,
                                        fields: [("reverted", .array(sets.map(JSON.int))), ("history", .array(ids.map(JSON.int)))],
                                        history: ids, changeSet: changeSet))
        }
    }
}
