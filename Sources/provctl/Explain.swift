import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a parameter's effective value for a device and the scope it came from.",
        discussion: """
            Lists the value stored at each scope that reaches the device, the one that wins, its ua and the value \
            after {{variables}} are resolved. NAME may also be {{variable}} to explain a variable.
            Example: provctl explain 000e08abcdef Resync_Periodic
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The device's MAC.", completion: .custom(Completion.macs)) var mac: String
    @Argument(help: "A parameter name, or {{variable}}.", completion: .custom(Completion.parameters)) var name: String

    func validate() throws { _ = try parseMAC(mac) }

    func run() throws {
        let opened = try store.open()
        let mac = try parseMAC(mac)
        guard let device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
        let renderer = try ProfileRenderer(store: opened)
        let layers = try renderer.layers(for: device)
        let secretNames = try secretVariableNames(opened)
        if name.hasPrefix("{{") && name.hasSuffix("}}") {
            try explainVariable(String(name.dropFirst(2).dropLast(2)).trimmingCharacters(in: .whitespaces),
                                device: device, layers: layers, secretNames: secretNames)
            return
        }
        let explained = try ParameterExplanation(name: name, device: device, renderer: renderer, layers: layers)
        let (rows, winner, resolved, problem, access, intent) = (explained.rows, explained.winner, explained.resolved,
                                                                 explained.problem, explained.access, explained.intent)
        if output.json {
            printJSON(explained.json(disclosure: output.disclosure))
            return
        }
        if let resolved, resolved.isEmpty {
            print("\(mac) \(name) is empty, \(intentText(intent))   (from \(winner.scope)\(access.map { ", ua=\($0.rawValue)" } ?? ""))")
        } else if let resolved {
            print("\(mac) \(name) = \(output.shown(name: name, value: resolved))   (from \(winner.scope)\(access.map { ", ua=\($0.rawValue)" } ?? ""))")
        } else {
            print("\(mac) \(name): cannot resolve: \(problem ?? "unknown")")
        }
        var table = Table("SCOPE", "UA", "VALUE", "")
        for row in rows {
            table.append([row.scope.description, row.access?.rawValue,
                          row.value.isEmpty ? "(\(intentWord(row.intent)))" : output.shown(name: name, value: row.value),
                          row.scope == winner.scope ? "<- wins" : "overridden"])
        }
        table.print()
    }

    func explainVariable(_ variable: String, device: Device, layers: Layers, secretNames: Set<String>) throws {
        let explained = try VariableExplanation(name: variable, device: device, layers: layers)
        let rows = explained.rows
        let shown = { (value: String) in output.shown(variable: variable, value: value, secretNames: secretNames) }
        if let value = explained.builtIn {
            // The device's own key: masked unless --show-secrets.
            let value = explained.isDeviceKey ? output.shown(key: value) ?? "" : value
            if output.json {
                printJSON(explained.json(disclosure: output.disclosure, secretNames: secretNames))
            } else {
                print("\(device.mac) {{\(variable)}} = \(value)   (a server variable)")
            }
            return
        }
        let winner = explained.winner!
        if output.json {
            printJSON(explained.json(disclosure: output.disclosure, secretNames: secretNames))
            return
        }
        print("\(device.mac) {{\(variable)}} = \(shown(winner.value))   (from \(winner.scope))")
        var table = Table("SCOPE", "VALUE", "")
        for row in rows {
            table.append([row.scope.description, shown(row.value), row.scope == winner.scope ? "<- wins" : "overridden"])
        }
        table.print()
    }
}
