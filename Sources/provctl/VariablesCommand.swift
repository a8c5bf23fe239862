import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct VariablesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "variables",
        abstract: "List the {{variables}} stored at a scope, or at every scope.",
        discussion: "Example: provctl vars default",
        aliases: ["vars"]
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var scope: OptionalScopeArgument

    func run() throws {
        let listing = try SettingsEditor(store: try store.open(), output: output).variables(at: try scope.parsed())
        var table = Table("SCOPE", "NAME", "VALUE")
        for row in listing.rows { table.append([row.scope, row.name, row.value]) }
        Output.emit(ListResult(table: table, listing: listing), json: output.json)
    }
}
