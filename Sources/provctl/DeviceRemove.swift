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
        try emit(try DeviceEditor(store: try store.open(), output: output, change: change).remove(macs), json: output.json)
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
        try emit(try DeviceEditor(store: try store.open(), output: output, change: change).restore(macs), json: output.json)
    }
}
