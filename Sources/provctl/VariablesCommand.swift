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
        let opened = try store.open()
        let variables = try opened.variables(at: try scope.parsed())
        let secretNames = try secretVariableNames(opened)
        if output.json {
            try printJSON(variables.map { variable -> [String: Any] in
                ["scope": variable.scope.description, "name": variable.name,
                 "value": output.shown(variable: variable.name, value: variable.value, secretNames: secretNames)]
            })
            return
        }
        var table = Table("SCOPE", "NAME", "VALUE")
        for variable in variables {
            table.append([variable.scope.description, variable.name,
                          output.shown(variable: variable.name, value: variable.value, secretNames: secretNames)])
        }
        table.print()
    }
}
