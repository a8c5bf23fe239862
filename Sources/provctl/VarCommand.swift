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
        let pairs = try assignments.map(splitAssignment)
        try SettingsEditor.checkVariables(pairs, session: .provctl())
        let editor = SettingsEditor(store: try store.open(), output: output, change: change)
        try emit(try editor.setVariables(pairs, at: scope), json: output.json)
    }
}
