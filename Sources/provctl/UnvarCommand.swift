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
        let opened = try store.open()
        let secretNames = try secretVariableNames(opened)
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { try .scope(scope, in: opened) }) { audit in
            for name in names {
                guard let old = try opened.variable(scope: scope, name: name) else {
                    throw Failure(.notFound, "variable \(name): not set at \(scope)")
                }
                try opened.removeVariable(scope: scope, name: name)
                try audit.record("unvar", target: "\(scope) {{\(name)}}", old: auditValue(old, secretNames: secretNames), new: nil)
            }
        }
        Output.emit(ChangeResult(action: "unvar", message: "unset \(names.count) variable(s) at \(scope)", count: names.count,
                                 fields: [("scope", .string(scope.description))] + [("history", .array(ids.map(JSON.int)))]), json: output.json)
    }
}
