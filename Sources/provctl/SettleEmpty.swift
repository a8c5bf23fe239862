import ArgumentParser
import Provisioning
import ProvisioningAdmin

/// Settles the empty values stored before schema 9, whose intent is unknown (`provctl check` lists them).
struct SettleEmpty: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settle-empty",
        abstract: "Decide what the empty values stored before schema 9 mean: set empty, or leave the phone's value.",
        discussion: """
            Before schema 9 an empty value was stored without its intent and served as <NAME/>, which phones \
            read as "leave my value as it is" (Cisco's provisioning guides). Such rows are served exactly so until this command \
            settles them; `provctl check` lists them. --as empty makes them set the phone's value to empty \
            (served <NAME></NAME>); --as leave keeps today's answer and records it as meant. Only rows whose intent \
            is unknown change; --scope limits it to one scope, NAME... to some parameters. One history entry; \
            `provctl revert` undoes it.
            Examples: provctl settle-empty --as leave --dry-run
                      provctl settle-empty --as empty --scope model:SPA122 GPP_A GPP_B
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Option(name: .customLong("as"), help: "empty (served <NAME></NAME>) or leave (served <NAME/>, as today).") var meaning: String
    @Option(help: "Only this scope: default, model:NAME, group:NAME or device:MAC.") var scope: String?
    @Argument(help: "Only these parameter names.") var names: [String] = []

    func validate() throws {
        if intent == nil { throw ValidationError("--as: \"\(meaning)\" must be empty or leave") }
        if let scope { _ = try parseScope(scope) }
    }

    var intent: EmptyIntent? {
        switch meaning {
        case "empty": .empty
        case "leave", "keep": .keep
        default: nil
        }
    }

    func run() throws {
        let only = try scope.map(parseScope)
        let opened = try store.open()
        let unsettled = try opened.settings(at: only).filter {
            $0.value.isEmpty && $0.intent == nil && (names.isEmpty || names.contains($0.name))
        }
        var reach = Reach.some([])
        for setting in unsettled { reach = try reach.union(.scope(setting.scope, in: opened)) }
        let target = reach
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { target }) { audit in
            for old in unsettled {
                var new = old
                new.intent = intent
                try opened.set(new)
                try audit.record("settle-empty", target: "\(old.scope)\(old.partition.isEmpty ? "" : "#" + old.partition) \(old.name)",
                                 old: auditValue(old), new: auditValue(new))
            }
        }
        Output.emit(ChangeResult(action: "settle-empty",
                                 message: "settled \(unsettled.count) empty value(s) as \(intent == .empty ? "empty (<NAME></NAME>)" : "leave (<NAME/>)")",
                                 count: unsettled.count, fields: [("history", .array(ids.map(JSON.int)))]), json: output.json)
    }
}
