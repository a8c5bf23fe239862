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
        let plan: RevertPlan
        if let id {
            plan = try RevertPlan.changeSet(id, in: opened)
        } else {
            plan = try RevertPlan.since(try parseTime(since!, field: "--since"), in: opened)
            if plan.sets.isEmpty {
                Output.emit(ChangeResult(action: "revert", message: "nothing to revert since \(since!)", count: 0), json: output.json)
                return
            }
        }
        let engine = ChangeEngine(store: opened, session: .provctl(showSecrets: output.showSecrets), mode: change.mode)
        try emit(engine.revert(plan), json: output.json)
    }
}
