public import Provisioning
#if canImport(Glibc)
import Glibc
#endif

/// The settings and variables of one device merged default → model → group → device (the later wins), with
/// `{{variables}}` resolved.
public struct ResolvedSettings: Sendable {
    /// The parameters in the order they are emitted: by name, byte order, so two renders never differ.
    public var parameters: [ResolvedParameter]

    /// The server variables every profile can use, beside those set at any scope.
    public static let builtInNames = ["mac", "mac_upper", "mac_colon", "serial", "model", "group", "device.key", "device.kdf"]

    /// Merges `layers` for `device` as identified by `identity` (see `LayerRows.resolve`, which the CGI calls
    /// directly). An undefined variable, a loop between variables, or a parameter name XML cannot carry is a
    /// `SettingsError` that names it.
    public init(layers: Layers, device: Device, identity: ClientIdentity) throws(SettingsError) {
        var rows = LayerRows(layers, model: device.model(presentedBy: identity), group: device.group, mac: device.mac)
        rows.appendDerived(for: device)
        parameters = rows.parameters(try rows.resolve(device: device, identity: identity))
    }
}

