import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceReplace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replace",
        abstract: "Move a device to a new MAC (a hardware swap): fields, settings and variables come along.",
        discussion: """
            The stored serial belongs to the old unit: it is replaced by --serial, else by the serial of a claim \
            the new MAC left when it called, else cleared (so the new unit is not refused as "serial mismatch"). \
            The old MAC's seen row is dropped (the new unit has not fetched anything); a claim of the new MAC is \
            settled.
            Example: provctl device replace 000e08abcdef 000e08abcd99 --serial 88012BA09999
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The MAC of the unit going away.") var old: String
    @Argument(help: "The MAC of the unit taking its place.") var new: String
    @Option(help: "The new unit's serial; '' clears it.") var serial: String?

    func validate() throws {
        let old = try parseMAC(old, field: "OLD")
        let new = try parseMAC(new, field: "NEW")
        if old == new { throw ValidationError("NEW: the same MAC as OLD") }
        try checkDeviceFields([("--serial", serial)], allowEmpty: true)
    }

    func run() throws {
        try checkDeviceFieldValues([("serial", "--serial", serial)], allowEmpty: true)
        let opened = try store.open()
        let old = try parseMAC(old), new = try parseMAC(new)
        var note: String?
        let edited = try DeviceEditor(store: opened, output: output, change: change)
            .replace(old, with: new, serial: serial.map { $0.isEmpty ? nil : $0 }, note: &note)
        if case .written = edited, let note { warn("provctl: \(note)") }
        try emit(edited, json: output.json)
    }
}
