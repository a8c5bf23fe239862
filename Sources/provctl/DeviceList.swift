import ArgumentParser
import Provisioning
import ProvisioningAdmin

/// `--enabled` / `--disabled`.
enum EnabledFilter: String, EnumerableFlag {
    case enabled, disabled

    static func help(for value: EnabledFilter) -> ArgumentHelp? {
        value == .enabled ? "Only enabled devices." : "Only disabled devices."
    }
}

/// `--seen` / `--never-seen`.
enum SeenFilter: String, EnumerableFlag {
    case seen, neverSeen

    static func help(for value: SeenFilter) -> ArgumentHelp? {
        value == .seen ? "Only devices that fetched a profile." : "Only devices that never fetched a profile."
    }
}

struct DeviceList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List devices, filtered by group, model, enabled, seen or never seen.",
        discussion: """
            "Seen" means the device fetched a profile (profile-cgi records it in the seen table).
            Example: provctl device list --model CP-8841-3PCC --enabled --never-seen --json
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Only devices of this group.", completion: .custom(Completion.groups)) var group: String?
    @Option(help: "Only devices of this model.", completion: .custom(Completion.models)) var model: String?
    @Flag var state: EnabledFilter?
    @Flag var seenFilter: SeenFilter?

    func run() throws {
        let opened = try store.open()
        let filter = DeviceFilter(group: group, model: model, enabled: state.map { $0 == .enabled },
                                  seen: seenFilter.map { $0 == .seen })
        let rows = try opened.devices(matching: filter)
        if output.json {
            Output.emit(ListResult(table: Table(), items: rows.map { .sorted(JSON.deviceMembers($0.device, seen: $0.seen, disclosure: output.disclosure)) }),
                        json: true)
            return
        }
        var table = Table("MAC", "SERIAL", "MODEL", "GROUP", "ENABLED", "ENCRYPTION", "LAST SEEN")
        for (device, seen) in rows {
            table.append([device.mac.hex, device.serial, device.model, device.group, device.enabled ? "yes" : "no",
                          device.encryption.name, seen.map { timestamp($0.lastSeen) } ?? "never"])
        }
        table.print()
    }
}
