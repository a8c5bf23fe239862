public import Provisioning

/// Where a device's parameter comes from (`provctl explain MAC NAME`): every scope that sets it, lowest rank
/// first, the one that wins, and what it resolves to. Values are as stored: the caller masks secrets.
public struct ParameterExplanation: Sendable {
    public var mac: MACAddress
    public var name: String
    /// The rows setting it, at the scopes that reach the device, lowest rank first; the last wins.
    public var rows: [Setting]
    public var winner: Setting
    /// The value after `{{variables}}`, nil when the device's parameters cannot be resolved (`problem`).
    public var resolved: String?
    public var access: UserAccess?
    public var intent: EmptyIntent?
    public var problem: String?

    /// The explanation, or `.notFound` when no scope that reaches the device sets `name`.
    public init(name: String, device: Device, renderer: ProfileRenderer, layers: Layers) throws(AdminError) {
        let rows = layers.settings.filter { $0.name == name }.sorted { $0.scope.rank < $1.scope.rank }
        guard let winner = rows.last else {
            throw AdminError(.notFound, "\(name): not set at any scope that reaches \(device.mac) (its phone keeps its own value)")
        }
        (mac, self.name, self.rows, self.winner) = (device.mac, name, rows, winner)
        do {
            let parameter = try renderer.parameters(for: device).first { $0.name == name }
            resolved = parameter?.value
            access = parameter?.access
            intent = parameter?.intent
        } catch {
            problem = renderProblem(error)
        }
    }
}

/// Where a device's `{{variable}}` comes from: a server variable (`{{mac}}`, `{{device.key}}`, ...) has one
/// value and no scope; any other, the scopes that set it, lowest rank first.
public struct VariableExplanation: Sendable {
    public var mac: MACAddress
    public var name: String
    /// A built-in's value (`{{device.key}}` unmasked: the caller masks it), nil for a stored variable.
    public var builtIn: String?
    /// True for `{{device.key}}` of a device with a key: the value is that key.
    public var isDeviceKey = false
    public var rows: [Variable]
    public var winner: Variable?

    /// The explanation, or `.notFound` when it is neither built in nor set at a scope that reaches the device.
    public init(name: String, device: Device, layers: Layers) throws(AdminError) {
        (mac, self.name) = (device.mac, name)
        rows = layers.variables.filter { $0.name == name }.sorted { $0.scope.rank < $1.scope.rank }
        if ResolvedSettings.builtInNames.contains(name) {
            var values = ["mac": device.mac.hex, "mac_upper": device.mac.upper, "mac_colon": device.mac.colon,
                          "serial": device.serial ?? "", "model": device.model ?? "", "group": device.group ?? ""]
            switch device.encryption {
            case .aes256cbc(let key, let digest): values["device.key"] = key; values["device.kdf"] = digest.rawValue
            case .aes128gcm(let material): values["device.key"] = material.ikm
            case .none: break
            }
            builtIn = values[name] ?? ""
            isDeviceKey = name == "device.key" && values[name] != nil
            return
        }
        guard let winner = rows.last else {
            throw AdminError(.notFound, "variable \(name): not set at any scope that reaches \(device.mac)")
        }
        self.winner = winner
    }
}
