import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct UnsetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove parameters from a scope (a lower scope's value shows through).",
        discussion: "Example: provctl unset group:sales Resync_Periodic Display_Name_1_ --dry-run"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var target: ScopeArgument
    @Argument(help: "Parameter names.", completion: .custom(Completion.parameters)) var names: [String]
    @OptionGroup var part: PartitionOption

    func validate() throws {
        try part.check()
        if names.isEmpty { throw ValidationError("give at least one NAME") }
    }

    func run() throws {
        let scope = try target.parsed()
        let editor = SettingsEditor(store: try store.open(), output: output, change: change)
        try emit(try editor.unset(names, at: scope, partition: part.name), json: output.json)
    }
}
