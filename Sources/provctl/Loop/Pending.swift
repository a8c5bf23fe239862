import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct Pending: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the devices that have not yet fetched their current profile.",
        discussion: """
            For every enabled device: the SHA-256 of the XML profile-cgi would send it now (rendered by the same \
            code) against that of the last profile it was served (the fetch history). Listed: `changed` (a \
            change since its last fetch), `never seen`, `unknown` (it fetched, but its history was pruned), \
            `render error` (profile-cgi would answer 500), `bootstrap` (it has its current bootstrap profile, the one \
            without secrets, and proved no identity yet: no push changes that), `refused by server` (its newest request was refused, \
            e.g. 403 model mismatch), `failed on phone` (after its last fetch the phone logged "Resync failed: \
            ERR" (provctl syslog) with no success since, or sent a report that differs; the phone's words are \
            shown), `report differs` (its last report disagrees with its settings: `provctl drift MAC`). With --stale also `stale`: no contact for longer than --stale-after, \
            else three times its own resync interval (Resync_Periodic, default 3600 s; daily with \
            Resync_At__HHmm_). A device that fetches its new profile leaves the list. `provctl resync --pending` \
            pushes the changed and failed ones. Exit status 0 when \
            no device is pending, 5 when the list is not empty (findings).
            Examples: provctl pending
                      provctl pending --group sales --stale --json
            """
    )

    @OptionGroup var store: StoreOptions
    @Option(help: "Only devices of this group.") var group: String?
    @Flag(help: "Also list devices not seen for too long.") var stale = false
    @Option(help: ArgumentHelp("With --stale: the limit (90m, 6h, 3d) instead of 3× each device's resync interval.", valueName: "duration"))
    var staleAfter: String?
    @Flag(name: .customLong("json"), help: "Print JSON (for scripts) instead of a table.") var jsonOutput = false

    func validate() throws {
        if let staleAfter {
            _ = try parseDuration(staleAfter, option: "--stale-after")
            if !stale { throw ValidationError("--stale-after: only with --stale") }
        }
    }

    func run() throws {
        let opened = try store.open()
        let scan = PendingScan(store: opened, group: group, stale: stale,
                               staleAfter: try staleAfter.map { try parseDuration($0, option: "--stale-after") })
        if jsonOutput {
            // Streamed: each device is written as it is found (in blocks of 64 KiB), the array as `Output` writes it.
            let out = FileHandle.standardOutput
            var started = false
            var bytes: [UInt8] = []
            bytes.reserveCapacity(1 << 16 + 4096)
            let count = try scan.run { entry in
                bytes += (bytes.isEmpty && !started ? "[\n  " : ",\n  ").utf8
                started = true
                entry.json.write(to: &bytes, indent: 2)
                if bytes.count >= 1 << 16 {
                    out.write(Data(bytes))
                    bytes.removeAll(keepingCapacity: true)
                }
            }
            bytes += (count == 0 ? "[]\n" : "\n]\n").utf8
            out.write(Data(bytes))
            try Self.findings(count)
            return
        }
        // The table's columns are as wide as their widest cell: its rows (the output) are kept, not the devices.
        var table = Table("MAC", "GROUP", "STATE", "LAST SERVED", "SERVED", "CURRENT", "LAST CONTACT", "NOTE")
        let count = try scan.run { entry in
            table.append([entry.device.mac.hex, entry.device.group, entry.states.joined(separator: ", "),
                          entry.served.map { timestamp(micros: $0.at) }, entry.served?.sha256.map { String($0.prefix(12)) },
                          entry.currentSHA256.map { String($0.prefix(12)) }, entry.lastContact.map { timestamp($0) },
                          entry.problem ?? entry.refusal.map { "server answered " + $0 } ?? entry.phoneSaid.map { "phone: " + $0 }
                              ?? entry.drift.flatMap { $0 > 0 ? "\($0) parameter(s) differ (provctl drift)" : nil }])
        }
        table.print()
        if stdoutIsTerminal || count == 0 {
            print("\(count) device(s) pending")
        }
        try Self.findings(count)
    }

    /// Exit status 5 (findings) when something was listed; the listing is the whole answer.
    static func findings(_ count: Int) throws {
        guard count > 0 else { return }
        var failure = Failure(.problems, "")
        failure.reported = true
        throw failure
    }
}
