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
    @OptionGroup var cipher: EncryptionOptions

    func validate() throws {
        _ = try parseMAC(mac)
        try checkDeviceFields([("--serial", serial), ("--model", model), ("--group", group)], allowEmpty: true)
        try cipher.check()
        if serial == nil && model == nil && group == nil && gzip == nil && cipher.isEmpty {
            throw ValidationError("nothing to change: give at least one of --serial --model --group --[no-]gzip --encrypt --key --kdf --key-id --record-size")
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
        if !cipher.isEmpty { device.encryption = try cipher.applied(to: old.encryption) }
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
