public import Provisioning

/// `provctl explain` as JSON, one copy for provctl and the admin API: a parameter's layers, a variable's layers,
/// and every parameter and variable of a device with the scope each comes from (the API's
/// `/devices/{mac}/settings` and `/variables`).
extension ParameterExplanation {
    /// The explanation from parameters already resolved (`renderer.parameters(for:)`, or why they could not be):
    /// explaining every parameter of a device renders it once. `.notFound` when no scope that reaches the device
    /// sets `name`.
    public init(name: String, device: Device, layers: Layers,
                resolved parameters: Result<[ResolvedParameter], RenderError>) throws(AdminError) {
        let rows = layers.settings.filter { $0.name == name }.sorted { $0.scope.rank < $1.scope.rank }
        guard let winner = rows.last else {
            throw AdminError(.notFound, "\(name): not set at any scope that reaches \(device.mac) (its phone keeps its own value)")
        }
        (mac, self.name, self.rows, self.winner) = (device.mac, name, rows, winner)
        switch parameters {
        case .success(let parameters):
            let parameter = parameters.first { $0.name == name }
            (resolved, access, intent, problem) = (parameter?.value, parameter?.access, parameter?.intent, nil)
        case .failure(let error):
            (resolved, access, intent, problem) = (nil, nil, nil, renderProblem(error))
        }
    }

    /// As `provctl explain MAC NAME --json` prints it: secrets as `disclosure` shows them.
    public func json(disclosure: Disclosure) -> JSON {
        .sorted([
            "mac": .string(mac.hex), "name": .string(name), "scope": .string(winner.scope.description),
            "value": .text(resolved.map { disclosure.shown(name: name, value: $0) }),
            "template": .string(disclosure.shown(name: name, value: winner.value)), "ua": .text(access?.rawValue),
            "intent": .text(resolved?.isEmpty == true ? intent?.rawValue : nil),
            "error": .text(problem),
            "layers": .array(rows.map { row in
                .sorted(["scope": .string(row.scope.description), "value": .string(disclosure.shown(name: name, value: row.value)),
                         "ua": .text(row.access?.rawValue), "wins": .bool(row.scope == winner.scope),
                         "intent": .text(row.value.isEmpty ? row.intent?.rawValue : nil)])
            }),
        ])
    }
}

extension VariableExplanation {
    /// As `provctl explain MAC '{{NAME}}' --json` prints it: a server variable with scope `server` and no
    /// layers (the device's key masked unless shown); a stored one with its layers. Secrets per `disclosure`.
    public func json(disclosure: Disclosure, secretNames: Set<String>) -> JSON {
        if let builtIn {
            let value = isDeviceKey ? disclosure.shown(key: builtIn) ?? "" : builtIn
            return .sorted(["mac": .string(mac.hex), "name": .string(name), "scope": .string("server"), "value": .string(value)])
        }
        let shown = { (value: String) in disclosure.shown(variable: name, value: value, secretNames: secretNames) }
        let winner = winner!
        return .sorted(["mac": .string(mac.hex), "name": .string(name), "scope": .string(winner.scope.description),
                        "value": .string(shown(winner.value)),
                        "layers": .array(rows.map { .sorted(["scope": .string($0.scope.description), "value": .string(shown($0.value)),
                                                             "wins": .bool($0.scope == winner.scope)]) })])
    }
}

/// Every parameter and variable that reaches one device, each with the scopes that set it (what `provctl
/// explain` shows for one name), ordered by name.
public struct DeviceLayering {
    public var device: Device
    public var layers: Layers
    public var parameters: Result<[ResolvedParameter], RenderError>
    public var secretNames: Set<String>

    /// The device `mac`'s layers; a MAC that is no device is `.notFound`.
    public init(mac: MACAddress, in store: ConfigurationEditor) throws {
        guard let device = try store.device(mac: mac) else { throw AdminError(.notFound, "MAC: \(mac) is not a device", field: "mac") }
        let renderer = try ProfileRenderer(store: store)
        self.device = device
        layers = try renderer.layers(for: device)
        parameters = Result { () throws(RenderError) in try renderer.parameters(for: device) }
        secretNames = try secretVariableNames(store)
    }

    /// One `explain` object per parameter set at a scope that reaches the device (the main profile's).
    public func settings(disclosure: Disclosure) throws -> JSON {
        let names = Set(layers.settings.map(\.name)).sorted()
        return .array(try names.map { name in
            try ParameterExplanation(name: name, device: device, layers: layers, resolved: parameters).json(disclosure: disclosure)
        })
    }

    /// One `explain` object per variable set at a scope that reaches the device.
    public func variables(disclosure: Disclosure) throws -> JSON {
        let names = Set(layers.variables.map(\.name)).sorted()
        return .array(try names.map { name in
            try VariableExplanation(name: name, device: device, layers: layers).json(disclosure: disclosure, secretNames: secretNames)
        })
    }
}
