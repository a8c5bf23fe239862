import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the audit log: every change, who made it, old -> new (secrets stored masked).",
        discussion: """
            With a MAC: the changes to that device and its device scope. Who is $SUDO_USER, else $USER.
            Example: provctl history 000e08abcdef --limit 20
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Only changes about this device.") var mac: String?
    @Option(help: "At most this many entries, newest first.") var limit = 100

    func validate() throws {
        if let mac { _ = try parseMAC(mac) }
        if limit < 1 { throw ValidationError("--limit: at least 1") }
    }

    func run() throws {
        let opened = try store.open()
        let entries = try opened.auditEntries(mac: try mac.map { try parseMAC($0) }, limit: limit)
        if output.json {
            try printJSON(entries.map { entry -> [String: Any] in
                ["id": entry.id, "at": timestamp(entry.at), "who": entry.who, "action": entry.action,
                 "target": json(entry.target), "old": json(entry.oldValue), "new": json(entry.newValue)]
            })
            return
        }
        var table = Table("AT", "WHO", "ACTION", "TARGET", "CHANGE")
        for entry in entries {
            table.append([timestamp(entry.at), entry.who, entry.action, entry.target,
                          "\(entry.oldValue ?? "-") -> \(entry.newValue ?? "-")"])
        }
        table.print()
    }
}
