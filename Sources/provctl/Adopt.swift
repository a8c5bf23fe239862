import ArgumentParser
import Provisioning
import ProvisioningAdmin

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
    @Option(help: "The group the devices join.", completion: .custom(Completion.groups)) var group: String?
    @Option(help: "The model, instead of the certificate's.") var model: String?
    @OptionGroup var serving: NewDeviceOptions

    func validate() throws {
        if macs.isEmpty { throw ValidationError("give at least one MAC") }
        for mac in macs { _ = try parseMAC(mac) }
        try checkDeviceFields([("--group", group), ("--model", model)])
    }

    func run() throws {
        try checkDeviceFieldValues([("group", "--group", group), ("model", "--model", model)])
        let opened = try store.open()
        let macs = try macs.map { try parseMAC($0) }
        let template = Device(mac: macs[0], serial: nil, model: model, group: group, enabled: !serving.disabled,
                              gzip: serving.gzip, encryption: try serving.encryption)
        try emit(DeviceEditor(store: opened, output: output, change: change).adopt(macs, like: template), json: output.json)
    }
}
