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
    let opened = try store.open()
    var changed = 0
    let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { .some(Set(macs)) }) { audit in
        for mac in macs {
            guard var device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
            guard device.enabled != enabled else { continue }
            device.enabled = enabled
            try opened.update(device)
            try audit.record(enabled ? "device enable" : "device disable", target: mac.hex,
                             old: "enabled=\(enabled ? "no" : "yes")", new: "enabled=\(enabled ? "yes" : "no")")
            changed += 1
        }
    }
    let action = enabled ? "enabled" : "disabled"
    Output.emit(ChangeResult(action: enabled ? "device enable" : "device disable", message: "\(action) \(macs.count) device(s)",
                             count: changed, fields: [("macs", .array(macs.map { .string($0.hex) }))] + [("history", .array(ids.map(JSON.int)))]), json: output.json)
}
