import ArgumentParser
import Provisioning

struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Add and manage devices.",
        subcommands: [DeviceAdd.self]
    )
}

struct DeviceAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a device by MAC.",
        discussion: """
            Example: provctl device add 00:0e:08:ab:cd:ef --serial 88012BA01234 --model CP-8841-3PCC \
            --group sales --gzip --encrypt aes-256-cbc --key 'a phrase' --kdf sha256
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The MAC, in any spelling.") var mac: String
    @Option(help: "The serial the certificate must carry (L, or SN: in serialNumber).") var serial: String?
    @Option(help: "The product the certificate must carry (OU, or PID:); picks the model scope.") var model: String?
    @Option(help: "The group; picks the group scope.") var group: String?
    @Flag(help: "Gzip the profile before encrypting a .cfg.") var gzip = false
    @Flag(help: "Add the device disabled (answered with 403).") var disabled = false
    @Option(help: ArgumentHelp("Encrypt .cfg profiles: aes-256-cbc.", valueName: "cipher")) var encrypt: String?
    @Option(help: "The passphrase, as in the phone's [--key ...].") var key: String?
    @Option(help: "Key derivation digest: md5 (old firmware) or sha256 (default).") var kdf: String?

    func validate() throws {
        _ = try parseMAC(mac)
        if let encrypt, encrypt != "aes-256-cbc" { throw ValidationError("--encrypt: \"\(encrypt)\" must be aes-256-cbc") }
        if encrypt != nil && (key ?? "").isEmpty { throw ValidationError("--key: required with --encrypt, and not empty") }
        if encrypt == nil && key != nil { throw ValidationError("--key: only with --encrypt aes-256-cbc") }
        if let kdf, KeyDerivationDigest(rawValue: kdf) == nil { throw ValidationError("--kdf: \"\(kdf)\" must be md5 or sha256") }
        for (field, value) in [("--serial", serial), ("--model", model), ("--group", group)] {
            if let value, value.isEmpty || value.contains(where: { $0.isNewline }) {
                throw ValidationError("\(field): must be one non-empty line")
            }
        }
    }

    func run() throws {
        let opened = try store.open()
        let mac = try parseMAC(mac)
        var encryption = Encryption.none
        if encrypt != nil, let key {
            encryption = .aes256cbc(key: key, digest: kdf.flatMap(KeyDerivationDigest.init) ?? .sha256)
        }
        let device = Device(mac: mac, serial: serial, model: model, group: group, enabled: !disabled, gzip: gzip,
                            encryption: encryption)
        if try opened.device(mac: mac) != nil {
            throw ValidationError("MAC: \(mac) is already a device (use `provctl device edit`)")
        }
        try opened.database.transaction {
            try opened.insert(device)
            try opened.audit(who: currentUser(), action: "device add", target: mac.hex, old: nil,
                             new: describe(device), now: DeviceStore.now())
        }
        print("added \(mac)")
    }
}

/// A device as one line for the audit log, the key masked.
func describe(_ device: Device) -> String {
    var parts = ["mac=\(device.mac)"]
    if let serial = device.serial { parts.append("serial=\(serial)") }
    if let model = device.model { parts.append("model=\(model)") }
    if let group = device.group { parts.append("group=\(group)") }
    parts.append("enabled=\(device.enabled ? "yes" : "no")")
    parts.append("gzip=\(device.gzip ? "yes" : "no")")
    switch device.encryption {
    case .none: parts.append("encryption=none")
    case .aes256cbc(_, let digest): parts.append("encryption=aes-256-cbc key=*** kdf=\(digest.rawValue)")
    }
    return parts.joined(separator: " ")
}
