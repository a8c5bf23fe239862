import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Add, show, list, edit, enable, disable, remove, restore, replace, import and export devices.",
        discussion: "Example: provctl device list --group sales --never-seen",
        subcommands: DeviceCommand.members
    )

    static let members: [any ParsableCommand.Type] = [
        DeviceAdd.self, DeviceShow.self, DeviceList.self, DeviceEdit.self, DeviceEnable.self, DeviceDisable.self,
        DeviceRemove.self, DeviceRestore.self, DeviceReplace.self, ImportDevices.self, ExportDevices.self,
    ]
}

/// Checks the text fields a device takes: one non-empty line each.
func checkDeviceFields(_ fields: [(String, String?)], allowEmpty: Bool = false) throws {
    for (field, value) in fields {
        guard let value else { continue }
        if (!allowEmpty && value.isEmpty) || value.contains(where: { $0.isNewline })
            || value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw ValidationError("\(field): must be one line without control characters" + (allowEmpty ? "" : ", not empty"))
        }
    }
}

/// How a new device is served, as `device add` and `adopt` take it: `--gzip`, `--disabled`, and the encryption
/// options, validated together.
struct NewDeviceOptions: ParsableArguments {
    @Flag(help: "Gzip the profile before encrypting a .cfg.") var gzip = false
    @Flag(help: "Create the device disabled (profile-cgi answers it 403).") var disabled = false
    @OptionGroup var cipher: EncryptionOptions

    func validate() throws {
        try cipher.check()
        if !cipher.keyStdin { _ = try encryption }
    }

    /// The encryption these options ask for.
    var encryption: Encryption {
        get throws { try cipher.applied(to: .none) }
    }
}

/// `--encrypt`, `--key`, `--kdf`, `--key-id`, `--record-size`: how a device's `.cfg` is encrypted, for `device
/// add`, `device edit` and `adopt`.
struct EncryptionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Encrypt .cfg profiles: aes-256-cbc (openssl enc), aes128gcm (RFC 8188), or none.",
                               valueName: "cipher")) var encrypt: String?
    @Option(help: ArgumentHelp("""
        aes-256-cbc: the passphrase, as in the phone's [--key ...]. aes128gcm: the IKM in base64url (at least 16 \
        octets), as the phone's IKM_HTTP_Encrypt_Content carries it. A key that starts with - is given as \
        --key=KEY (base64url does that one time in 64).
        """, valueName: "key")) var key: String?
    @Flag(help: "Read the key (passphrase or IKM) from the first line of standard input instead.") var keyStdin = false
    @Option(help: "aes-256-cbc: key derivation digest, md5 (old firmware) or sha256 (default).") var kdf: String?
    @Option(name: .customLong("key-id"), help: "aes128gcm: the header's key id (default empty).") var keyID: String?
    @Option(help: "aes128gcm: the record size, 18 or more (default 4096).") var recordSize: Int?

    /// Checks each option on its own; `applied(to:)` checks them against the device.
    func check() throws {
        if let encrypt, !Encryption.names.contains(encrypt) {
            throw ValidationError("--encrypt: \"\(encrypt)\" must be one of \(Encryption.names.joined(separator: ", "))")
        }
        if let key, key.isEmpty || key.contains(where: { $0.isNewline }) { throw ValidationError("--key: one non-empty line") }
        if key != nil && keyStdin { throw ValidationError("--key-stdin: not with --key") }
        if let kdf, KeyDerivationDigest(rawValue: kdf) == nil { throw ValidationError("--kdf: \"\(kdf)\" must be md5 or sha256") }
        if let keyID, keyID.contains(where: { $0.isNewline }) { throw ValidationError("--key-id: must be one line") }
    }

    /// True when any option was given.
    var isEmpty: Bool { encrypt == nil && key == nil && !keyStdin && kdf == nil && keyID == nil && recordSize == nil }

    /// The key from --key, or from standard input with --key-stdin (read once).
    func givenKey() throws -> String? {
        if let key { return key }
        guard keyStdin else { return nil }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("--key-stdin: standard input holds no key")
        }
        return line
    }

    /// `old` with these options applied: a new cipher needs its key; options of another cipher are refused,
    /// each naming the option and the rule.
    func applied(to old: Encryption) throws -> Encryption {
        let key = try givenKey()
        let cipher = encrypt ?? (old == .none ? nil : old.name)
        switch cipher {
        case nil, "none":
            if key != nil || kdf != nil || keyID != nil || recordSize != nil {
                throw ValidationError("--key/--kdf/--key-id/--record-size: the device is not encrypted; add --encrypt aes-256-cbc or aes128gcm")
            }
            return .none
        case "aes-256-cbc":
            if keyID != nil || recordSize != nil { throw ValidationError("--key-id/--record-size: only with aes128gcm") }
            var oldKey: String? = nil, oldDigest = KeyDerivationDigest.sha256
            if case .aes256cbc(let k, let d) = old { oldKey = k; oldDigest = d }
            guard let phrase = key ?? oldKey else { throw ValidationError("--key: required to start encrypting with aes-256-cbc") }
            return .aes256cbc(key: phrase, digest: kdf.flatMap(KeyDerivationDigest.init) ?? oldDigest)
        default:
            if kdf != nil { throw ValidationError("--kdf: only with aes-256-cbc (aes128gcm derives its key with HKDF-SHA-256)") }
            var fields = ContentEncryptionKey(ikm: "")
            var hadKey = false
            if case .aes128gcm(let oldFields) = old { fields = oldFields; hadKey = true }
            if let key { fields.ikm = key } else if !hadKey {
                throw ValidationError("--key: required to start encrypting with aes128gcm (the IKM, base64url)")
            }
            if let keyID { fields.keyID = keyID }
            if let recordSize { fields.recordSize = recordSize }
            if let problem = fields.problem { throw ValidationError(problem) }
            return .aes128gcm(fields)
        }
    }
}
