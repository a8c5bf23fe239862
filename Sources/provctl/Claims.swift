import ArgumentParser
import Provisioning

struct Claims: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List phones that called with a valid certificate but have no device row.",
        discussion: """
            profile-cgi answers them 404 and remembers them here, with the serial and model of their \
            certificate. `provctl adopt` makes them devices.
            Example: provctl claims --json
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let claims = try store.open().claims()
        if output.json {
            try printJSON(claims.map { claim -> [String: Any] in
                ["mac": claim.mac.hex, "serial": json(claim.serial), "model": json(claim.model),
                 "remote_addr": json(claim.remoteAddress), "user_agent": json(claim.userAgent),
                 "first_seen": timestamp(claim.firstSeen), "last_seen": timestamp(claim.lastSeen), "count": claim.count]
            })
            return
        }
        var table = Table("MAC", "SERIAL", "MODEL", "ADDRESS", "LAST SEEN", "CALLS", "USER AGENT")
        for claim in claims {
            table.append([claim.mac.hex, claim.serial, claim.model, claim.remoteAddress, timestamp(claim.lastSeen),
                          String(claim.count), claim.userAgent])
        }
        table.print()
    }
}

struct Adopt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make claimed phones devices, with the serial and model of their certificate.",
        discussion: """
            Each MAC must have a claim (provctl claims) and no device row; the claim is removed.
            Example: provctl adopt 000e08abcdef --group sales --encrypt aes-256-cbc --key 'a phrase'
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "Claimed MACs, in any spelling.") var macs: [String]
    @Option(help: "The group the devices join.") var group: String?
    @Option(help: "The model, instead of the certificate's.") var model: String?
    @Flag(help: "Gzip the profile before encrypting a .cfg.") var gzip = false
    @Flag(help: "Adopt the devices disabled.") var disabled = false
    @Option(help: ArgumentHelp("Encrypt .cfg profiles: aes-256-cbc.", valueName: "cipher")) var encrypt: String?
    @Option(help: "The passphrase, as in the phone's [--key ...].") var key: String?
    @Option(help: "Key derivation digest: md5 or sha256 (default).") var kdf: String?

    func validate() throws {
        if macs.isEmpty { throw ValidationError("give at least one MAC") }
        for mac in macs { _ = try parseMAC(mac) }
        try checkEncryptionOptions(encrypt: encrypt, key: key, kdf: kdf)
        try checkDeviceFields([("--group", group), ("--model", model)])
    }

    func run() throws {
        let opened = try store.open()
        let macs = try macs.map { try parseMAC($0) }
        var encryption = Encryption.none
        if encrypt != nil, let key {
            encryption = .aes256cbc(key: key, digest: kdf.flatMap(KeyDerivationDigest.init) ?? .sha256)
        }
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { .some(Set(macs)) }) { audit in
            for mac in macs {
                guard let claim = try opened.claim(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) has no claim") }
                if try opened.device(mac: mac) != nil { throw Failure(.conflict, "MAC: \(mac) is already a device") }
                let device = Device(mac: mac, serial: claim.serial.flatMap { $0.isEmpty ? nil : $0 },
                                    model: model ?? claim.model.flatMap { $0.isEmpty ? nil : $0 }, group: group,
                                    enabled: !disabled, gzip: gzip, encryption: encryption)
                try opened.insert(device)
                try opened.removeClaim(mac: mac)
                try audit.record("adopt", target: mac.hex, old: "claim serial=\(claim.serial ?? "-") model=\(claim.model ?? "-")",
                                 new: describe(device))
            }
        }
        print("adopted \(macs.count) device(s)")
    }
}
