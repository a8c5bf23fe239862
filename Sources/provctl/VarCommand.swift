import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct VarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "var",
        abstract: "Set {{variables}} at a scope.",
        discussion: """
            Names are ASCII letters, digits, _ - . (not cert.*, not the server's mac, mac_upper, mac_colon, \
            serial, model, group). A variable is shown masked when its name holds pass, pwd, key, secret or \
            token, or when a secret parameter uses it.
            Example: provctl var group:sales sip_domain=sales.example.com
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var target: ScopeArgument
    @Argument(help: "name=value pairs.") var assignments: [String]

    func validate() throws {
        if assignments.isEmpty { throw ValidationError("give at least one name=value") }
        for assignment in assignments { _ = try splitAssignment(assignment) }
    }

    func run() throws {
        let scope = try target.parsed()
        let pairs = try assignments.map { assignment -> (String, String) in
            let (name, value) = try splitAssignment(assignment)
            try checkVariable(name: name, value: value)
            return (name, value)
        }
        let opened = try store.open()
        try checkTargetScope(scope, in: opened)
        let secretNames = try secretVariableNames(opened)
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { try .scope(scope, in: opened) }) { audit in
            for (name, value) in pairs {
                let old = try opened.variable(scope: scope, name: name)
                let new = Variable(scope: scope, name: name, value: value)
                guard new != old else { continue }
                try opened.set(new)
                try audit.record("var", target: "\(scope) {{\(name)}}", old: auditValue(old, secretNames: secretNames),
                                 new: auditValue(new, secretNames: secretNames))
            }
        }
        Output.emit(ChangeResult(action: "var", message: "set \(pairs.count) variable(s) at \(scope)", count: pairs.count,
                                 fields: [("scope", .string(scope.description))] + [("history", .array(ids.map(JSON.int)))]), json: output.json)
    }
}
