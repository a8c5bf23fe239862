/// The profile recipe, in one place: what a phone receives for a device is its layer rows (with the settings
/// derived from the device row on the main profile), resolved, rendered as a flat profile; then, per form, gzip
/// (`.gz`; a `.cfg` when the device says so) and encryption (a `.cfg`, with the device's cipher), in that order.
/// profile-cgi and `provctl render` (`ProfileService`), the bulk renderer (`ProfileRenderer`) and the check that an
/// exported file still holds a profile (which undoes the steps) all take their steps from here.
public struct ProfileRecipe: Sendable {
    /// Whether the XML is compressed (before any encryption).
    public let gzip: Bool
    /// The cipher the (compressed) XML is encrypted with; `.none` for the plain forms.
    public let encryption: Encryption

    /// The steps of `form` for `device`. A `.cfg` for a device without encryption is `EncodingError.noKey`
    /// (there is no such file for it), never a silent plain profile.
    public init(form: ProfileForm, device: Device) throws(EncodingError) {
        switch form {
        case .xml:
            gzip = false
            encryption = .none
        case .gz:
            gzip = true
            encryption = .none
        case .cfg:
            if case .none = device.encryption { throw .noKey }
            gzip = device.gzip
            encryption = device.encryption
        }
    }

    /// The flat-profile XML of `rows` (read for `device`, its `partition`, '' for the main profile): the derived
    /// settings added to the main profile, a named partition without a setting for this device
    /// `RenderError.unknownPartition`; `withoutSecrets` renders the bootstrap profile (`ResolvedRows.withoutSecrets`).
    public static func document(_ rows: consuming LayerRows, device: Device, identity: ClientIdentity, partition: String,
                                withoutSecrets: Bool = false) throws(RenderError) -> [UInt8] {
        if partition.isEmpty {
            rows.appendDerived(for: device)
        } else if !rows.hasSettings {
            throw .unknownPartition(partition)
        }
        do {
            let resolved = try rows.resolve(device: device, identity: identity)
            return FlatProfile.render(rows, withoutSecrets ? resolved.withoutSecrets(rows) : resolved)
        } catch {
            throw .settings(error)
        }
    }
}
