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
            RFC 8188: provctl device edit 000e08abcdef --encrypt aes128gcm --key yqdlZ-tYemfogSmv7Ts5yQ \
            --key-id prov1 --record-size 4096 (the IKM in base64url; --key-stdin reads it from standard input).
            Accounts: provctl device edit 000e08abcdef --account phone-0001 --password-stdin < pw.txt; the phone's \
            rule then holds [--uid phone-0001 --pwd ...]. --bootstrap cfg|profile lets callers without a \
            certificate or account fetch the encrypted .cfg, or the profile without its secrets.
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
    @OptionGroup var cipher: EncryptionOptions
    @Option(help: "The HTTP account's user name (Basic or Digest over HTTPS, for a phone without a unique certificate).")
    var account: String?
    @Option(help: "The account's password (stored only as HA1 = MD5(user:realm:password)).") var password: String?
    @Flag(help: "Read the account's password from the first line of standard input.") var passwordStdin = false
    @Option(help: "The Digest realm of the account (default: provisioner, or the account's current realm).") var realm: String?
    @Flag(help: "Remove the device's account.") var noAccount = false
    @Option(help: ArgumentHelp("What a caller that proves nothing may fetch: none, cfg (the encrypted .cfg only) or profile (every secret left out).",
                               valueName: "policy")) var bootstrap: String?

    func validate() throws {
        if let account, account.isEmpty || account.utf8.count > 64 || account.contains(":") || account.contains("\"")
            || account.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw ValidationError("--account: 1 to 64 characters, no ':' (Basic splits there), no '\"', no control characters")
        }
        if let realm, realm.isEmpty || realm.contains("\"") || realm.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw ValidationError("--realm: one non-empty line without '\"'")
        }
        if let password, password.isEmpty || password.contains(where: { $0.isNewline }) {
            throw ValidationError("--password: one non-empty line")
        }
        if password != nil && passwordStdin { throw ValidationError("--password-stdin: not with --password") }
        if passwordStdin && cipher.keyStdin { throw ValidationError("--password-stdin: not with --key-stdin (one standard input)") }
        if noAccount && (account != nil || password != nil || passwordStdin || realm != nil) {
            throw ValidationError("--no-account: not with --account, --password or --realm")
        }
        if let bootstrap, BootstrapPolicy(rawValue: bootstrap) == nil {
            throw ValidationError("--bootstrap: \"\(bootstrap)\" must be none, cfg or profile")
        }
        _ = try parseMAC(mac)
        try checkDeviceFields([("--serial", serial), ("--model", model), ("--group", group)], allowEmpty: true)
        try cipher.check()
        if serial == nil && model == nil && group == nil && gzip == nil && cipher.isEmpty && account == nil && password == nil
            && !passwordStdin && realm == nil && !noAccount && bootstrap == nil {
            throw ValidationError("nothing to change: give at least one of --serial --model --group --[no-]gzip --encrypt --key --kdf --key-id --record-size --account --password --realm --no-account --bootstrap")
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
        if !cipher.isEmpty { device.encryption = try cipher.applied(to: old.encryption) }
        if let bootstrap { device.bootstrap = BootstrapPolicy(rawValue: bootstrap) ?? .none }
        if noAccount {
            device.account = nil
        } else if account != nil || password != nil || passwordStdin || realm != nil {
            var secret = password
            if passwordStdin {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ValidationError("--password-stdin: standard input holds no password")
                }
                secret = line
            }
            guard let user = account ?? old.account?.user else {
                throw ValidationError("--account: required to give the device an account")
            }
            let newRealm = realm ?? old.account?.realm ?? DeviceAccount.defaultRealm
            // HA1 covers user and realm: changing either needs the password again.
            guard let secret else {
                if let current = old.account, current.user == user, current.realm == newRealm {
                    device.account = current
                } else {
                    throw ValidationError("--password: required with a new account, user name or realm (HA1 covers all three)")
                }
                return try save(device, old: old, in: opened, mac: mac)
            }
            device.account = DeviceAccount(user: user, realm: newRealm, ha1: AccountCheck.ha1(user: user, realm: newRealm, password: secret))
        }
        try save(device, old: old, in: opened, mac: mac)
    }

    func save(_ device: Device, old: Device, in opened: ConfigurationEditor, mac: MACAddress) throws {
        try emit(DeviceEditor(store: opened, output: output, change: change).edit(device, old: old), json: output.json)
    }
}
