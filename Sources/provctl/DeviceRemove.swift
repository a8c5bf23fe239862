import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove devices with their device-scope settings and variables.",
        discussion: "Example: provctl device remove 000e08abcdef --dry-run"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var devices: MACsArgument

    func run() throws {
        let opened = try store.open()
        let macs = try devices.parsed()
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
