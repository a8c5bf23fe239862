import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "List the parameters stored at a scope, or at every scope.",
        discussion: "Example: provctl settings group:sales --json"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var scope: OptionalScopeArgument

    func run() throws {
        let listing = try SettingsEditor(store: try store.open(), output: output).settings(at: try scope.parsed())
        var table = listing.partitioned ? Table("SCOPE", "PARTITION", "NAME", "UA", "VALUE") : Table("SCOPE", "NAME", "UA", "VALUE")
        for row in listing.rows {
            table.append([row.scope] + (listing.partitioned ? [row.partition.isEmpty ? "-" : row.partition] : [])
                         + [row.name, row.ua, row.value])
        }
        Output.emit(ListResult(table: table, listing: listing), json: output.json)
    }
}
