import ArgumentParser
import Provisioning

struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "List the parameters stored at a scope, or at every scope.",
        discussion: "Example: provctl settings group:sales --json"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "default, model:NAME, group:NAME or device:MAC; every scope when left out.") var scope: String?

    func validate() throws { if let scope { _ = try parseScope(scope) } }

    func run() throws {
        let opened = try store.open()
        let settings = try opened.settings(at: try scope.map(parseScope))
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
