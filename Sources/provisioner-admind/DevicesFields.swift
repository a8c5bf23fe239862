import Provisioning
import ProvisioningAdmin

/// A device's fields from a request body (`DeviceCreate`, `DevicePatch`), checked as provctl checks its options
/// (`device add` / `device edit`): each failure is 400 or 422 naming the member and the rule.
enum DeviceFields {
    /// `old`'s encryption with `cipher` and `key` applied (provctl's --encrypt/--key): a new cipher needs its key.
    static func encryption(_ cipher: String?, key: String?, old: Encryption) throws -> Encryption {
        if let cipher, !Encryption.names.contains(cipher) {
            throw APIProblem.badRequest("encryption: \"\(cipher)\" must be one of \(Encryption.names.joined(separator: ", "))",
                                        field: "encryption", rule: "cipher")
        }
        if let key, key.isEmpty || key.contains(where: \.isNewline) {
            throw APIProblem.badRequest("key: one non-empty line", field: "key", rule: "one_line")
        }
        switch cipher ?? (old == .none ? nil : old.name) {
        case nil, "none":
            if key != nil {
                throw APIProblem(status: 422, detail: "key: the device is not encrypted; set encryption too", code: "refused",
                                 field: "key", rule: "needs_encryption")
            }
            return .none
        case "aes-256-cbc":
            var oldKey: String?, digest = KeyDerivationDigest.sha256
            if case .aes256cbc(let k, let d) = old { (oldKey, digest) = (k, d) }
            guard let phrase = key ?? oldKey else {
                throw APIProblem(status: 422, detail: "key: required to start encrypting with aes-256-cbc", code: "refused",
                                 field: "key", rule: "required")
            }
            return .aes256cbc(key: phrase, digest: digest)
        default:
            var fields = ContentEncryptionKey(ikm: "")
            if case .aes128gcm(let oldFields) = old { fields = oldFields } else if key == nil {
                throw APIProblem(status: 422, detail: "key: required to start encrypting with aes128gcm (the IKM, base64url)",
                                 code: "refused", field: "key", rule: "required")
            }
            if let key { fields.ikm = key }
            if let problem = fields.problem {
                throw APIProblem(status: 422, detail: "key: \(problem)", code: "refused", field: "key", rule: "aes128gcm_key")
            }
            return .aes128gcm(fields)
        }
    }

    /// The account a body asks for (its password stored only as HA1).
    static func account(_ body: Components.Schemas.AccountWrite) throws -> DeviceAccount {
        let user = body.user, realm = body.realm
        if user.isEmpty || user.utf8.count > 64 || user.contains(":") || user.contains("\"")
            || user.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw APIProblem.badRequest("account.user: 1 to 64 characters, no ':', no '\"', no control characters",
                                        field: "account.user", rule: "account_user")
        }
        if realm.isEmpty || realm.contains("\"") || realm.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw APIProblem.badRequest("account.realm: one non-empty line without '\"'", field: "account.realm", rule: "realm")
        }
        if body.password.isEmpty || body.password.contains(where: \.isNewline) {
            throw APIProblem.badRequest("account.password: one non-empty line", field: "account.password", rule: "one_line")
        }
        return DeviceAccount(user: user, realm: realm, ha1: AccountCheck.ha1(user: user, realm: realm, password: body.password))
    }

    /// A new device from `POST /devices`.
    static func created(_ body: Components.Schemas.DeviceCreate) throws -> Device {
        let mac = try AdminAPI.mac(body.mac)
        try DeviceEditor.checkFields([("serial", "serial", body.serial), ("model", "model", body.model), ("group", "group", body.group)])
        return Device(mac: mac, serial: body.serial, model: body.model, group: body.group, enabled: body.enabled ?? true,
                      gzip: body.gzip ?? false, encryption: try encryption(body.encryption, key: body.key, old: .none),
                      account: try body.account.map(account), bootstrap: BootstrapPolicy(rawValue: body.bootstrap?.rawValue ?? "none") ?? .none)
    }

    /// `old` with a PATCH's members applied; absent members stay, "" clears serial, model or group.
    static func patched(_ old: Device, _ body: Components.Schemas.DevicePatch) throws -> Device {
        try DeviceEditor.checkFields([("serial", "serial", body.serial), ("model", "model", body.model), ("group", "group", body.group)],
                                     allowEmpty: true)
        var device = old
        if let serial = body.serial { device.serial = serial.isEmpty ? nil : serial }
        if let model = body.model { device.model = model.isEmpty ? nil : model }
        if let group = body.group { device.group = group.isEmpty ? nil : group }
        if let enabled = body.enabled { device.enabled = enabled }
        if let gzip = body.gzip { device.gzip = gzip }
        if body.encryption != nil || body.key != nil { device.encryption = try encryption(body.encryption, key: body.key, old: old.encryption) }
        if let bootstrap = body.bootstrap { device.bootstrap = BootstrapPolicy(rawValue: bootstrap.rawValue) ?? .none }
        if body.removeAccount == true {
            if body.account != nil {
                throw APIProblem.badRequest("remove_account: not with account", field: "remove_account", rule: "exclusive")
            }
            device.account = nil
        } else if let account = body.account {
            device.account = try self.account(account)
        }
        return device
    }
}
