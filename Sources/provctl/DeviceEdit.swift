import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceEdit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Change a device's fields; an empty value clears serial, model or group.",
        discussion: """
            Example: provctl device edit 000e08abcdef --group support --serial '' --encrypt aes-256-cbc \
            --key 'new phrase' --kdf md5 --dry-run
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The MAC, in any spelling.", completion: .custom(Completion.macs)) var mac: String
    @Option(help: "The serial the certificate must carry; '' clears it.") var serial: String?
    @Option(help: "The product the certificate must carry; '' clears it.", completion: .custom(Completion.models)) var model: String?
    @Option(help: "The group; '' clears it.", completion: .custom(Completion.groups)) var group: String?
    @Flag(inversion: .prefixedNo, help: "Gzip the profile before encrypting a .cfg.") var gzip: Bool?
    @Option(help: ArgumentHelp("aes-256-cbc, or none to stop encrypting.", valueName: "cipher")) var encrypt: String?
    @Option(help: "A new passphrase (with --encrypt aes-256-cbc, or for a device already encrypted).") var key: String?
    @Option(help: "Key derivation digest: md5 or sha256.") var kdf: String?

    func validate() throws {
        _ = try parseMAC(mac)
        try checkDeviceFields([("--serial", serial), ("--model", model), ("--group", group)], allowEmpty: true)
        if let encrypt, encrypt != "aes-256-cbc" && encrypt != "none" {
            throw ValidationError("--encrypt: \"\(encrypt)\" must be aes-256-cbc or none")
        }
        if encrypt == "none" && (key != nil || kdf != nil) { throw ValidationError("--key/--kdf: not with --encrypt none") }
        if let key, key.isEmpty || key.contains(where: { $0.isNewline }) { throw ValidationError("--key: one non-empty line") }
        if let kdf, KeyDerivationDigest(rawValue: kdf) == nil { throw ValidationError("--kdf: \"\(kdf)\" must be md5 or sha256") }
        if serial == nil && model == nil && group == nil && gzip == nil && encrypt == nil && key == nil && kdf == nil {
            throw ValidationError("nothing to change: give at least one of --serial --model --group --[no-]gzip --encrypt --key --kdf")
        }
    }

    func run() throws {
        try checkDeviceFieldValues([("serial", "--serial", serial), ("model", "--model", model), ("group", "--group", group)],
                                   allowEmpty: true)
        let opened = try store.open()
        let mac = try parseMAC(mac)
        guard let old = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
        var device = old
        if let serial { device.serial = serial.isEmpty ? nil : serial }
        if let model { device.model = model.isEmpty ? nil : model }
        if let group { device.group = group.isEmpty ? nil : group }
        if let gzip { device.gzip = gzip }
        switch (encrypt, old.encryption) {
        case ("none", _):
            device.encryption = .none
        case (_, .aes256cbc(let oldKey, let oldDigest)):
            device.encryption = .aes256cbc(key: key ?? oldKey, digest: kdf.flatMap(KeyDerivationDigest.init) ?? oldDigest)
        case ("aes-256-cbc", .none):
            guard let key else { throw ValidationError("--key: required to start encrypting") }
            device.encryption = .aes256cbc(key: key, digest: kdf.flatMap(KeyDerivationDigest.init) ?? .sha256)
        default:
            if key != nil || kdf != nil {
                throw ValidationError("--key/--kdf: the device is not encrypted; add --encrypt aes-256-cbc")
            }
        }
        if device == old {
            Output.emit(ChangeResult(action: "device edit", message: "\(mac): no change", count: 0,
                                     fields: [("mac", .string(mac.hex))]), json: output.json)
            return
        }
        if device.model != old.model { try warnIfNew("model", device.model.map { [$0] } ?? [], in: opened) }
        if device.group != old.group { try warnIfNew("group", device.group.map { [$0] } ?? [], in: opened) }
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { .some([mac]) }) { audit in
            try opened.update(device)
            try audit.record("device edit", target: mac.hex, old: describe(old), new: describe(device))
        }
        Output.emit(ChangeResult(action: "device edit", message: "changed \(mac)", count: 1,
                                 fields: [("mac", .string(mac.hex))] + [("history", .array(ids.map(JSON.int)))]), json: output.json)
    }
}
