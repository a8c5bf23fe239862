public import Provisioning

/// One device as `provctl device show` (or an HTTP API) gives it: its fields, when it last fetched a profile,
/// its device-scope settings and variables, and whether its profile renders today.
public struct DeviceDetails {
    public var device: Device
    public var seen: SeenRecord?
    public var settings: [Setting]
    public var variables: [Variable]
    /// The names of the variables marked secret (their values are masked unless secrets are shown).
    public var secretNames: Set<String>
    /// How many parameters its profile has; 0 when it does not render.
    public var parameterCount: Int
    /// Why its profile does not render today, if it does not.
    public var renderProblem: String?

    /// The device `mac`; a MAC that is no device is an `AdminError(.notFound)`.
    public init(mac: MACAddress, in store: ConfigurationEditor) throws {
        guard let device = try store.device(mac: mac) else { throw AdminError(.notFound, "MAC: \(mac) is not a device") }
        self.device = device
        seen = try store.journal.seen(mac: mac)
        settings = try store.settings(at: .device(mac))
        variables = try store.variables(at: .device(mac))
        // Only this device's variables are shown: without any, no name needs checking. The names are kept by
        // every change (`ExpectedProfiles.secretVariables`); reading every setting is for a file that lacks them.
        secretNames = variables.isEmpty ? [] : try ExpectedProfiles.secretVariables(store) ?? secretVariableNames(store)
        parameterCount = 0
        do {
            parameterCount = try ProfileRenderer(store: store).parameters(for: device).count
        } catch {
            renderProblem = ProvisioningAdmin.renderProblem(error)
        }
    }

    /// The device as JSON: its members (`JSON.deviceMembers`), its settings and variables (secrets masked per
    /// `disclosure`), its parameter count and why it does not render (null when it does).
    public func json(disclosure: Disclosure) -> JSON {
        var members = JSON.deviceMembers(device, seen: seen, disclosure: disclosure)
        members["settings"] = .array(settings.map { setting in
            .sorted(["name": .string(setting.name), "value": .string(disclosure.shown(name: setting.name, value: setting.value)),
                     "ua": .text(setting.access?.rawValue)])
        })
        members["variables"] = .array(variables.map { variable in
            .sorted(["name": .string(variable.name),
                     "value": .string(disclosure.shown(variable: variable.name, value: variable.value, secretNames: secretNames))])
        })
        members["parameters"] = .int(parameterCount)
        members["render_error"] = .text(renderProblem)
        return .sorted(members)
    }
}
