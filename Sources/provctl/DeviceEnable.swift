import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceEnable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Enable devices: they get their profile again.",
        discussion: "Example: provctl device enable 000e08abcdef 00:0e:08:ab:cd:f0"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var devices: MACsArgument

    func run() throws { try setEnabled(true, macs: try devices.parsed(), store: store, output: output, change: change) }
}

func setEnabled(_ enabled: Bool, macs: [MACAddress], store: StoreOptions, output: OutputOptions, change: DryRunOption) throws {
    try emit(try DeviceEditor(store: try store.open(), output: output, change: change).setEnabled(enabled, macs: macs), json: output.json)
}

extension DeviceEditor {
    /// The editor for a provctl command: its session, its --dry-run/--diff/--force.
    init(store: ConfigurationEditor, output: OutputOptions, change: DryRunOption) {
        self.init(store: store, session: .provctl(showSecrets: output.showSecrets), mode: change.mode)
    }
}
