import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Revert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Undo a change from the history, or every change since a time; the undo is recorded too.",
        discussion: """
            ID is the ID provctl history shows. Each row the entry changed is put back as it was before, provided \
            it is still as the entry left it; if a later change touched it, the revert is refused (exit 4) naming \
            the row: revert the later entry first, or --force. --since TIME reverts every entry at or after TIME, \
            newest first, in one transaction. The revert is an entry of its own, so it can be reverted in turn. \
            Like every change it is refused when a device would no longer render, and --dry-run shows it first.
            Examples: provctl revert 1284 --dry-run
                      provctl revert --since 2026-12-02T14:00
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The history entry to undo.") var id: Int?
    @Option(help: "Undo every entry at or after this time (see provctl history --help).") var since: String?

    func validate() throws {
        if (id == nil) == (since == nil) { throw ValidationError("ID: give an entry ID or --since TIME, not both") }
        if let since { _ = try parseTime(since, field: "--since") }
    }

    func run() throws {
        let opened = try store.open()
        var ids: [Int]
        if let id {
            let changes = try opened.rowChanges(entry: id)
            if changes.isEmpty {
                let exists = try opened.database.prepare("SELECT count(*) FROM audit WHERE id = ?1")
                try exists.bind(1, id)
                let known = try exists.step() && exists.int(0) > 0
                throw Failure(.notFound, known ? "ID: entry #\(id) changed no stored row (or predates the undo log): nothing to revert"
                                               : "ID: no history entry #\(id)", field: "ID", rule: "an entry provctl history marks UNDO yes")
            }
            ids = [id]
        } else {
            ids = try opened.revertibleEntries(since: try parseTime(since!, field: "--since"))
            if ids.isEmpty {
                Output.emit(ChangeResult(action: "revert", message: "nothing to revert since \(since!)", count: 0), json: output.json)
                return
            }
        }
        var plan: [(Int, [RowChange])] = []
        var macs: Set<MACAddress> = []
        var scopes: Set<Scope> = []
        for id in ids {
            let changes = try opened.rowChanges(entry: id)
            let touched = try opened.touched(by: changes)
            macs.formUnion(touched.macs)
            scopes.formUnion(touched.scopes)
            plan.append((id, changes))
        }
        let reach = {
            var reach = Reach.some(macs)
            for scope in scopes { reach = reach.union(try .scope(scope, in: opened)) }
            return reach
        }
        let entries = try ChangeRunner(store: opened, output: output, change: change).run(reach: reach) { audit in
            for (id, changes) in plan {
                let original = try opened.database.prepare("SELECT action, target, old_value, new_value FROM audit WHERE id = ?1")
                try original.bind(1, id)
                _ = try original.step()
                try opened.revert(entry: id, changes: changes, force: change.force)
                try audit.record("revert", target: original.text(1),
                                 old: original.text(3), new: "\(original.text(2) ?? "-") (reverts #\(id) \(original.text(0) ?? ""))")
            }
        }
        Output.emit(ChangeResult(action: "revert", message: "reverted \(plan.count) entr\(plan.count == 1 ? "y" : "ies"): "
                                 + plan.map { "#\($0.0)" }.joined(separator: ", "), count: plan.count,
                                 fields: [("reverted", .array(plan.map { .int($0.0) })), ("history", .array(entries.map(JSON.int)))]),
                    json: output.json)
    }
}
