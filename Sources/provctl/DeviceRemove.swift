import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove devices with their device-scope settings and variables (restorable).",
        discussion: """
            What is removed (the device row with its key, its settings and variables) is kept in the undo log: \
            provctl device restore MAC, or provctl revert ID with the history entry's ID, puts it back. \
            Removing more than one device asks for --yes.
            Example: provctl device remove 000e08abcdef --dry-run
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var devices: MACsArgument
    @Flag(help: "Confirm the removal of more than one device.") var yes = false

    func run() throws {
        let macs = try devices.parsed()
        if macs.count > 1 && !yes && !change.dryRun {
            throw Failure(.usage, "removing \(macs.count) devices: add --yes to confirm (or --dry-run to see them first)",
                          field: "--yes", rule: "removing more than one device needs --yes")
        }
        let opened = try store.open()
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { .some(Set(macs)) }) { audit in
            for mac in macs {
                guard let device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device", field: "MAC") }
                let settings = try opened.settings(at: .device(mac)).count
                let variables = try opened.variables(at: .device(mac)).count
                try opened.removeDevice(mac: mac)
                try audit.record("device remove", target: mac.hex, old: describe(device) + " settings=\(settings) variables=\(variables)", new: nil)
            }
        }
        let undo = macs.count == 1 ? "provctl device restore \(macs[0].hex)" : "provctl device restore MAC"
        Output.emit(ChangeResult(action: "device remove", message: "removed \(macs.count) device(s); undo: \(undo)", count: macs.count,
                                 fields: [("macs", .array(macs.map { .string($0.hex) })), ("history", .array(ids.map(JSON.int)))]),
                    json: output.json)
    }
}

struct DeviceRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring back removed devices as they were: row, key, settings and variables.",
        discussion: """
            Reverts the latest removal of each MAC (see provctl history MAC). Refused when the MAC is a device again.
            Example: provctl device restore 000e08abcdef
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var devices: MACsArgument

    func run() throws {
        let macs = try devices.parsed()
        let opened = try store.open()
        var entries: [(MACAddress, Int, [RowChange])] = []
        for mac in macs {
            if try opened.device(mac: mac) != nil { throw Failure(.conflict, "MAC: \(mac) is a device (nothing to restore)", field: "MAC") }
            guard let entry = try opened.removalEntry(mac: mac) else {
                throw Failure(.notFound, "MAC: \(mac) has no recorded removal to restore", field: "MAC")
            }
            entries.append((mac, entry, try opened.rowChanges(entry: entry)))
        }
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { .some(Set(macs)) }) { audit in
            for (mac, entry, changes) in entries {
                try opened.revert(entry: entry, changes: changes, force: change.force)
                try audit.record("device restore", target: mac.hex, old: nil, new: "reverts #\(entry)")
            }
        }
        Output.emit(ChangeResult(action: "device restore", message: "restored \(macs.count) device(s)", count: macs.count,
                                 fields: [("macs", .array(macs.map { .string($0.hex) })), ("history", .array(ids.map(JSON.int)))]),
                    json: output.json)
    }
}
