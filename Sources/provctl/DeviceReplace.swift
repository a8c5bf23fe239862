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
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { .some([old, new]) }) { audit in
            guard let before = try opened.device(mac: old) else { throw Failure(.notFound, "OLD: \(old) is not a device") }
            if try opened.device(mac: new) != nil { throw Failure(.conflict, "NEW: \(new) is already a device") }
            var serial: String?? = .some(nil)
            if let given = self.serial {
                serial = .some(given.isEmpty ? nil : given)
            } else if let claim = try opened.journal.claim(mac: new), let claimed = claim.serial {
                serial = .some(claimed)
                note = "serial \(claimed) taken from the claim of \(new)"
            } else if before.serial != nil {
                note = "serial cleared (give --serial to set the new unit's)"
            }
            let after: Device
            do {
                after = try opened.replaceMAC(old, with: new, serial: serial)
            } catch let error as ReplaceError {
                throw Failure(.conflict, error.description)
            }
            try audit.record("device replace", target: old.hex, old: describe(before), new: describe(after))
            try audit.record("device replace", target: new.hex, old: describe(before), new: describe(after))
        }
        if let note { warn("provctl: \(note)") }
        Output.emit(ChangeResult(action: "device replace", message: "replaced \(old) with \(new)", count: 1,
                                 fields: [("old", .string(old.hex)), ("new", .string(new.hex))] + [("history", .array(ids.map(JSON.int)))]), json: output.json)
    }
}
