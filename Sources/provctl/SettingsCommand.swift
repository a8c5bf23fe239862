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
        let opened = try store.open()
        let settings = try opened.settings(at: try scope.parsed())
        if output.json {
            try printJSON(settings.map { setting -> [String: Any] in
                ["scope": setting.scope.description, "partition": setting.partition, "name": setting.name,
                 "value": output.shown(name: setting.name, value: setting.value), "ua": json(setting.access?.rawValue)]
            })
            return
        }
        let partitioned = settings.contains { !$0.partition.isEmpty }
        var table = partitioned ? Table("SCOPE", "PARTITION", "NAME", "UA", "VALUE") : Table("SCOPE", "NAME", "UA", "VALUE")
        for setting in settings {
            var row: [String?] = [setting.scope.description]
            if partitioned { row.append(setting.partition.isEmpty ? "-" : setting.partition) }
            row += [setting.name, setting.access?.rawValue, output.shown(name: setting.name, value: setting.value)]
            table.append(row)
        }
        table.print()
    }
}
