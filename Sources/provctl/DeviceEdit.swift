import ArgumentParser
import Provisioning

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
    @Argument(help: "The MAC, in any spelling.") var mac: String
    @Option(help: "The serial the certificate must carry; '' clears it.") var serial: String?
    @Option(help: "The product the certificate must carry; '' clears it.") var model: String?
    @Option(help: "The group; '' clears it.") var group: String?
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
            print("\(mac): no change")
            return
        }
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { .some([mac]) }) { audit in
            try opened.update(device)
            try audit.record("device edit", target: mac.hex, old: describe(old), new: describe(device))
        }
        print("changed \(mac)")
    }
}

struct DeviceEnable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Enable devices: they get their profile again.",
        discussion: "Example: provctl device enable 000e08abcdef 00:0e:08:ab:cd:f0"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "MACs, in any spelling.") var macs: [String]

    func validate() throws { for mac in macs { _ = try parseMAC(mac) } }

    func run() throws { try setEnabled(true, macs: macs, store: store, output: output, dryRun: change.dryRun) }
}

struct DeviceDisable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Disable devices: profile-cgi answers them 403 \"device disabled\".",
        discussion: "Example: provctl device disable 000e08abcdef"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "MACs, in any spelling.") var macs: [String]

    func validate() throws { for mac in macs { _ = try parseMAC(mac) } }

    func run() throws { try setEnabled(false, macs: macs, store: store, output: output, dryRun: change.dryRun) }
}

func setEnabled(_ enabled: Bool, macs texts: [String], store: StoreOptions, output: OutputOptions, dryRun: Bool) throws {
    let opened = try store.open()
    let macs = try texts.map { try parseMAC($0) }
    try ChangeRunner(store: opened, output: output, dryRun: dryRun).run(reach: { .some(Set(macs)) }) { audit in
        for mac in macs {
            guard var device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
            guard device.enabled != enabled else { continue }
            device.enabled = enabled
            try opened.update(device)
            try audit.record(enabled ? "device enable" : "device disable", target: mac.hex,
                             old: "enabled=\(enabled ? "no" : "yes")", new: "enabled=\(enabled ? "yes" : "no")")
        }
    }
    print("\(enabled ? "enabled" : "disabled") \(macs.count) device(s)")
}

struct DeviceRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove devices with their device-scope settings and variables.",
        discussion: "Example: provctl device remove 000e08abcdef --dry-run"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "MACs, in any spelling.") var macs: [String]

    func validate() throws { for mac in macs { _ = try parseMAC(mac) } }

    func run() throws {
        let opened = try store.open()
        let macs = try macs.map { try parseMAC($0) }
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { .some(Set(macs)) }) { audit in
            for mac in macs {
                guard let device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
                let settings = try opened.settings(at: .device(mac)).count
                let variables = try opened.variables(at: .device(mac)).count
                try opened.removeDevice(mac: mac)
                try audit.record("device remove", target: mac.hex, old: describe(device) + " settings=\(settings) variables=\(variables)", new: nil)
            }
        }
        print("removed \(macs.count) device(s)")
    }
}

struct DeviceReplace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replace",
        abstract: "Move a device to a new MAC (a hardware swap): fields, settings and variables come along.",
        discussion: """
            The stored serial belongs to the old unit: it is replaced by --serial, else by the serial of a claim \
            the new MAC left when it called, else cleared (so the new unit is not refused as "serial mismatch"). \
            The old MAC's seen row is dropped (the new unit has not fetched anything); a claim of the new MAC is \
            settled.
            Example: provctl device replace 000e08abcdef 000e08abcd99 --serial 88012BA09999
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The MAC of the unit going away.") var old: String
    @Argument(help: "The MAC of the unit taking its place.") var new: String
    @Option(help: "The new unit's serial; '' clears it.") var serial: String?

    func validate() throws {
        let old = try parseMAC(old, field: "OLD")
        let new = try parseMAC(new, field: "NEW")
        if old == new { throw ValidationError("NEW: the same MAC as OLD") }
        try checkDeviceFields([("--serial", serial)], allowEmpty: true)
    }

    func run() throws {
        let opened = try store.open()
        let old = try parseMAC(old), new = try parseMAC(new)
        var note: String?
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { .some([old, new]) }) { audit in
            guard let before = try opened.device(mac: old) else { throw Failure(.notFound, "OLD: \(old) is not a device") }
            if try opened.device(mac: new) != nil { throw Failure(.conflict, "NEW: \(new) is already a device") }
            var serial: String?? = .some(nil)
            if let given = self.serial {
                serial = .some(given.isEmpty ? nil : given)
            } else if let claim = try opened.claim(mac: new), let claimed = claim.serial {
                serial = .some(claimed)
                note = "serial \(claimed) taken from the claim of \(new)"
            } else if before.serial != nil {
                note = "serial cleared (give --serial to set the new unit's)"
            }
            let after: Device
            do {
                after = try opened.replaceMAC(old, with: new, serial: serial)
            } catch let error as ReplaceError {
                throw Failure(.conflict, error.description)
            }
            try audit.record("device replace", target: old.hex, old: describe(before), new: describe(after))
            try audit.record("device replace", target: new.hex, old: describe(before), new: describe(after))
        }
        if let note { warn("provctl: \(note)") }
        print("replaced \(old) with \(new)")
    }
}
