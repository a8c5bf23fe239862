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
        let rows = layers.settings.filter { $0.name == name }.sorted { $0.scope.rank < $1.scope.rank }
        guard let winner = rows.last else {
            throw Failure(.notFound, "\(name): not set at any scope that reaches \(mac) (its phone keeps its own value)")
        }
        var resolved: String?
        var problem: String?
        var access: UserAccess?
        var intent: EmptyIntent?
        do {
            let parameter = try renderer.parameters(for: device).first { $0.name == name }
            resolved = parameter?.value
            access = parameter?.access
            intent = parameter?.intent
        } catch {
            problem = provctlRenderProblem(error)
        }
        if output.json {
            try printJSON([
                "mac": mac.hex, "name": name, "scope": winner.scope.description,
                "value": json(resolved.map { output.shown(name: name, value: $0) }),
                "template": output.shown(name: name, value: winner.value), "ua": json(access?.rawValue),
                "intent": json(resolved?.isEmpty == true ? intent?.rawValue : nil),
                "error": json(problem),
                "layers": rows.map { row -> [String: Any] in
                    ["scope": row.scope.description, "value": output.shown(name: name, value: row.value),
                     "ua": json(row.access?.rawValue), "wins": row.scope == winner.scope,
                     "intent": json(row.value.isEmpty ? row.intent?.rawValue : nil)]
                },
            ])
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
        let rows = layers.variables.filter { $0.name == variable }.sorted { $0.scope.rank < $1.scope.rank }
        let shown = { (value: String) in output.shown(variable: variable, value: value, secretNames: secretNames) }
        if ResolvedSettings.builtInNames.contains(variable) {
            var values = ["mac": device.mac.hex, "mac_upper": device.mac.upper, "mac_colon": device.mac.colon,
                          "serial": device.serial ?? "", "model": device.model ?? "", "group": device.group ?? ""]
            // The device's own key: masked unless --show-secrets.
            switch device.encryption {
            case .aes256cbc(let key, let digest): values["device.key"] = output.shown(key: key); values["device.kdf"] = digest.rawValue
            case .aes128gcm(let material): values["device.key"] = output.shown(key: material.ikm)
            case .none: break
            }
            if output.json {
                try printJSON(["mac": device.mac.hex, "name": variable, "scope": "server", "value": values[variable] ?? ""])
            } else {
                print("\(device.mac) {{\(variable)}} = \(values[variable] ?? "")   (a server variable)")
            }
            return
        }
        guard let winner = rows.last else {
            throw Failure(.notFound, "variable \(variable): not set at any scope that reaches \(device.mac)")
        }
        if output.json {
            try printJSON(["mac": device.mac.hex, "name": variable, "scope": winner.scope.description,
                           "value": shown(winner.value),
                           "layers": rows.map { ["scope": $0.scope.description, "value": shown($0.value),
                                                 "wins": $0.scope == winner.scope] }])
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
