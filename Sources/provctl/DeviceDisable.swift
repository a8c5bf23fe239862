import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceDisable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Disable devices: profile-cgi answers them 403 \"device disabled\".",
        discussion: "Example: provctl device disable 000e08abcdef"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var devices: MACsArgument

    func run() throws { try setEnabled(false, macs: try devices.parsed(), store: store, output: output, change: change) }
}
