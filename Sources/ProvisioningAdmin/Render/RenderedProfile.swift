import Foundation
public import Provisioning

/// A device's profile as `provctl render MAC --json` prints it (one copy for provctl and the admin API): the body
/// as served (text when it is UTF-8, else base64), its size and SHA-256.
public struct RenderedProfile {
    public var mac: MACAddress
    public var form: ProfileForm
    /// "" for the main profile.
    public var partition: String
    /// True when `body` was decrypted and decompressed (`--plain`).
    public var plain: Bool
    public var body: [UInt8]

    public init(mac: MACAddress, form: ProfileForm, partition: String, plain: Bool, body: [UInt8]) {
        (self.mac, self.form, self.partition, self.plain, self.body) = (mac, form, partition, plain, body)
    }

    /// The members provctl prints, in its order.
    public var json: JSON {
        let text = String(validating: body, as: UTF8.self)
        return .object([
            ("mac", .string(mac.hex)), ("form", .string(form.rawValue)), ("partition", .text(partition.isEmpty ? nil : partition)),
            ("plain", .bool(plain)), ("bytes", .int(body.count)), ("sha256", .string(Digest.sha256Hex(body))),
            ("profile", .text(text)), ("profile_base64", .text(text == nil ? Data(body).base64EncodedString() : nil)),
        ])
    }

    /// The main XML profile of `device` as its phone would get it, for someone who may not see its secrets: the
    /// members of `json` (`bytes` and `sha256` of the profile as served, to compare with fetches) with `profile`
    /// rendered from the parameters with every secret value masked (`Secrets.mask`), and `masked`, how many
    /// values were. A device that does not render is an `AdminError(.refused)` naming why, without secrets.
    public static func masked(_ device: Device, in store: ConfigurationEditor, disclosure: Disclosure) throws -> JSON {
        let served: [UInt8]
        let parameters: [ResolvedParameter]
        do {
            served = try ProfileService.profile(store: store.store, device: device, identity: .standIn(for: device), form: .xml)
            parameters = try ProfileRenderer(store: store).parameters(for: device)
        } catch {
            throw AdminError(.refused, "render \(device.mac): \(renderProblem(error))", field: "mac", rule: "renders")
        }
        var count = 0
        let shown = parameters.map { parameter in
            var parameter = parameter
            let value = disclosure.shown(name: parameter.name, value: parameter.value)
            if value != parameter.value { count += 1 }
            parameter.value = value
            return parameter
        }
        let text = disclosure.showSecrets ? served : FlatProfile.render(shown)
        guard case .object(var members) = RenderedProfile(mac: device.mac, form: .xml, partition: "", plain: false, body: served).json else {
            return .null
        }
        if let index = members.firstIndex(where: { $0.0 == "profile" }) {
            members[index].1 = .text(String(decoding: text, as: UTF8.self))
        }
        members.append(("masked", .int(disclosure.showSecrets ? 0 : count)))
        return .object(members)
    }
}
