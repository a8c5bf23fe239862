import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Revert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Undo a change from the history, or every change since a time; the undo is recorded too.",
        discussion: """
            ID is the change set ID provctl history shows (everything one command wrote: an import is one). Each \
            row the set changed is put back as it was before, provided \
            it is still as the entry left it; if a later change touched it, the revert is refused (exit 4) naming \
            the row: revert the later entry first, or --force. --since TIME reverts every entry at or after TIME, \
            newest first, in one transaction. A restore is a change set too: reverting it puts back what the \
            database held before. The revert is an entry of its own, so it can be reverted in turn. \
            Like every change it is refused when a device would no longer render, and --dry-run shows it first.
            Examples: provctl revert 1284 --dry-run
                      provctl revert --since 2026-12-02T14:00
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The change set to undo (the ID provctl history prints).") var id: Int?
    @Option(help: "Undo every entry at or after this time (see provctl history --help).") var since: String?

    func validate() throws {
        if (id == nil) == (since == nil) { throw ValidationError("ID: give an entry ID or --since TIME, not both") }
        if let since { _ = try parseTime(since, field: "--since") }
    }

    func run() throws {
        let opened = try store.open()
        // Change sets, newest first, each with its entries (newest first).
        var sets: [(set: Int, entries: [Int])] = []
        if let id {
            let entries = try opened.changeSetEntries(id)
            if entries.isEmpty {
                let set = try opened.changeSet(of: id)
                let message: String
                if let set, set != id {
                    message = "ID: #\(id) is an entry of change set #\(set): provctl revert \(set) undoes the whole command"
                } else if set != nil {
                    message = "ID: change set #\(id) changed no stored row (or predates the undo log): nothing to revert"
                } else {
                    message = "ID: no change set #\(id)"
                }
                throw Failure(.notFound, message, field: "ID", rule: "an ID provctl history prints with UNDO yes")
            }
            sets = [(id, entries)]
        } else {
            let ids = try opened.revertibleChangeSets(since: try parseTime(since!, field: "--since"))
            if ids.isEmpty {
                Output.emit(ChangeResult(action: "revert", message: "nothing to revert since \(since!)", count: 0), json: output.json)
                return
            }
            for set in ids { sets.append((set, try opened.changeSetEntries(set))) }
        }
        var plan: [(set: Int, entries: [(Int, [RowChange])])] = []
        var macs: Set<MACAddress> = []
        var scopes: Set<Scope> = []
        for (set, ids) in sets {
            var entries: [(Int, [RowChange])] = []
            for id in ids {
                let changes = try opened.rowChanges(entry: id)
                let touched = try opened.touched(by: changes)
                macs.formUnion(touched.macs)
                scopes.formUnion(touched.scopes)
                entries.append((id, changes))
            }
            plan.append((set, entries))
        }
        let reach = {
            var reach = Reach.some(macs)
            for scope in scopes { reach = reach.union(try .scope(scope, in: opened)) }
            return reach
        }
        let entries = try ChangeRunner(store: opened, output: output, change: change).run(reach: reach) { audit in
            for (set, setEntries) in plan {
                for (id, changes) in setEntries { try opened.revert(entry: id, changes: changes, force: change.force) }
                // One entry per change set reverted, over all the rows it put back.
                let original = try opened.changeSetOrigin(set)
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
        Output.emit(ChangeResult(action: "revert", message: "reverted \(plan.count) change set\(plan.count == 1 ? "" : "s"): "
                                 + plan.map { "#\($0.set)" }.joined(separator: ", "), count: plan.count,
                                 fields: [("reverted", .array(plan.map { .int($0.set) })), ("history", .array(entries.map(JSON.int)))]),
                    json: output.json)
    }
}
