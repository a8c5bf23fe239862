import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct UnsetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove parameters from a scope (a lower scope's value shows through).",
        discussion: "Example: provctl unset group:sales Resync_Periodic Display_Name_1_ --dry-run"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var target: ScopeArgument
    @Argument(help: "Parameter names.", completion: .custom(Completion.parameters)) var names: [String]
    @OptionGroup var part: PartitionOption

    func validate() throws {
        try part.check()
        if names.isEmpty { throw ValidationError("give at least one NAME") }
    }

    func run() throws {
        let scope = try target.parsed()
        let opened = try store.open()
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { try .scope(scope, in: opened) }) { audit in
            for name in names {
                guard let old = try opened.setting(scope: scope, name: name, partition: part.name) else {
                    throw Failure(.notFound, "\(name): not set at \(scope)\(part.suffix)")
                }
                try opened.removeSetting(scope: scope, name: name, partition: part.name)
                try audit.record("unset", target: "\(scope)\(part.suffix) \(name)", old: auditValue(old), new: nil)
            }
        }
        Output.emit(ChangeResult(action: "unset", message: "unset \(names.count) parameter(s) at \(scope)\(part.suffix)", count: names.count,
                                 fields: [("scope", .string(scope.description))] + [("history", .array(ids.map(JSON.int)))]), json: output.json)
    }
}
