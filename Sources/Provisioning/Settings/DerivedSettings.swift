/// Parameters the server writes into a profile from the device row itself, so that they can never disagree with
/// what the server does: today `IKM_HTTP_Encrypt_Content`, the RFC 8188 key material of an `aes128gcm` device.
///
/// The device row is the one place the IKM lives: the `.cfg` is encrypted with it, and every profile the device
/// is rendered (its `.xml` over HTTPS included) carries it, `ua="na"`, so a phone learns a new IKM with its next
/// authenticated fetch. `provctl set` refuses the name at every scope: a second copy could only drift. It is a
/// secret (`Secrets.isSecret`): a caller below full trust never receives it.
public enum DerivedSettings {
    /// The phone's hidden parameter for the RFC 8188 IKM (MPP 11.2(3)+).
    public static let ikmName = "IKM_HTTP_Encrypt_Content"

    /// True for a name the server derives and provctl refuses to store.
    public static func isDerived(_ name: String) -> Bool { name == ikmName }
}

extension LayerRows {
    /// Appends the device's derived parameters as device-scope rows with `ua="na"`.
    public mutating func appendDerived(for device: Device) {
        guard case .aes128gcm(let key) = device.encryption else { return }
        if !scopes.isEmpty { scopes.append(.device(device.mac)) }
        append(kind: .setting, rank: .device, name: DerivedSettings.ikmName, value: key.ikm, access: .na)
    }
}
