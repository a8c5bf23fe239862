import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct UnvarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unvar",
        abstract: "Remove {{variables}} from a scope.",
        discussion: "Example: provctl unvar device:000e08abcdef sip_user --dry-run"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var target: ScopeArgument
    @Argument(help: "Variable names.") var names: [String]

    func validate() throws {
        if names.isEmpty { throw ValidationError("give at least one name") }
    }

    func run() throws {
        let scope = try target.parsed()
        let editor = SettingsEditor(store: try store.open(), output: output, change: change)
        try emit(try editor.unsetVariables(names, at: scope), json: output.json)
    }
}
