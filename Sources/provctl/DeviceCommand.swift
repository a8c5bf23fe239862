import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Add, show, list, edit, enable, disable, remove, restore and replace devices.",
        discussion: "Example: provctl device list --group sales --never-seen",
        subcommands: [DeviceAdd.self, DeviceShow.self, DeviceList.self, DeviceEdit.self, DeviceEnable.self,
                      DeviceDisable.self, DeviceRemove.self, DeviceRestore.self, DeviceReplace.self]
    )
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
    @Option(help: ArgumentHelp("Encrypt .cfg profiles: aes-256-cbc.", valueName: "cipher")) var encrypt: String?
    @Option(help: "The passphrase, as in the phone's [--key ...].") var key: String?
    @Option(help: "Key derivation digest: md5 (old firmware) or sha256 (default).") var kdf: String?

    func validate() throws {
        if let encrypt, encrypt != "aes-256-cbc" { throw ValidationError("--encrypt: \"\(encrypt)\" must be aes-256-cbc") }
        if encrypt != nil && (key ?? "").isEmpty { throw ValidationError("--key: required with --encrypt, and not empty") }
        if encrypt == nil && key != nil { throw ValidationError("--key: only with --encrypt aes-256-cbc") }
        if let kdf, KeyDerivationDigest(rawValue: kdf) == nil { throw ValidationError("--kdf: \"\(kdf)\" must be md5 or sha256") }
        if let key, key.contains(where: { $0.isNewline }) { throw ValidationError("--key: must be one line") }
    }

    /// The encryption these options ask for.
    var encryption: Encryption {
        guard encrypt != nil, let key else { return .none }
        return .aes256cbc(key: key, digest: kdf.flatMap(KeyDerivationDigest.init) ?? .sha256)
    }
}
