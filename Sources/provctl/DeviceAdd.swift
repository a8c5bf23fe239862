import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a device by MAC.",
        discussion: """
            A claim for the same MAC (a phone that already called) is settled. The key is a passphrase, as the \
            phone's [--key ...] is.
            Example: provctl device add 00:0e:08:ab:cd:ef --serial 88012BA01234 --model CP-8841-3PCC \
            --group sales --gzip --encrypt aes-256-cbc --key 'a phrase' --kdf sha256
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The MAC, in any spelling.") var mac: String
    @Option(help: "The serial the certificate must carry (L, or SN: in serialNumber).") var serial: String?
    @Option(help: "The product the certificate must carry (OU, or PID:); picks the model scope.", completion: .custom(Completion.models)) var model: String?
    @Option(help: "The group; picks the group scope.", completion: .custom(Completion.groups)) var group: String?
    @OptionGroup var serving: NewDeviceOptions

    func validate() throws {
        _ = try parseMAC(mac)
        try checkDeviceFields([("--serial", serial), ("--model", model), ("--group", group)])
    }

    func run() throws {
        try checkDeviceFieldValues([("serial", "--serial", serial), ("model", "--model", model), ("group", "--group", group)])
        let opened = try store.open()
        let mac = try parseMAC(mac)
        let encryption = try serving.encryption
        let device = Device(mac: mac, serial: serial, model: model, group: group, enabled: !serving.disabled, gzip: serving.gzip,
                            encryption: encryption)
        try emit(DeviceEditor(store: opened, output: output, change: change).add(device), json: output.json)
    }
}
