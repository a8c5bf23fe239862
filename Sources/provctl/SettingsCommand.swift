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
                ["scope": setting.scope.description, "name": setting.name,
                 "value": output.shown(name: setting.name, value: setting.value), "ua": json(setting.access?.rawValue)]
            })
            return
        }
        var table = Table("SCOPE", "NAME", "UA", "VALUE")
        for setting in settings {
            table.append([setting.scope.description, setting.name, setting.access?.rawValue,
                          output.shown(name: setting.name, value: setting.value)])
        }
        table.print()
    }
}
