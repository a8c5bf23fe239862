import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct DriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "List the parameters whose value the phone reported differs from what it should have.",
        discussion: """
            Compares the phone's latest report (its Report_Rule POST to …/report/<name>, kept by profile-cgi) \
            with the device's effective settings now: a parameter the device sets that the report carries with \
            another value, or does not carry. Parameters the device does not set are left alone (the phone has \
            hundreds of its own defaults). Values compare trimmed, and with the phone's macros ($MA, $SN, ...) \
            expanded. Secrets are compared but never printed (*** on both sides); one the phone reports masked \
            cannot be compared and is skipped.
            Without a MAC: every enabled device that has a report (of --group G), one row per differing \
            parameter, and how many have no report yet. Exit status 5 when a device drifts (findings).
            Examples: provctl drift 000e08abcdef
                      provctl drift 000e08abcdef --json
                      provctl drift --group sales
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The device's MAC (without it: every enabled device, or --group's).") var mac: String?
    @Option(help: "Every enabled device of this group.") var group: String?
    @Flag(name: .customLong("json"), help: "Print JSON (for scripts) instead of a table.") var jsonOutput = false

    func validate() throws {
        if let mac { _ = try parseMAC(mac) }
        if mac != nil && group != nil { throw ValidationError("--group: give a MAC or --group, not both") }
    }

    /// One device's drift as JSON (the single-MAC answer, and each element of the fleet's).
    static func entryJSON(_ mac: MACAddress, report: StoredReport, entries: [DriftEntry]) -> JSON {
        driftJSON(mac, report: report, entries: entries)
    }

    func run() throws {
        let opened = try store.open()
        let loop = try DeviceLoop(store: opened)
        guard let text = mac else {
            try fleet(opened, loop: loop)
            return
        }
        let mac = try parseMAC(text)
        guard let device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
        guard let report = try opened.journal.reports(mac: mac)[mac] else {
            throw Failure(.notFound, "\(mac): no report yet (set Report_Rule to …/report/$MA.xml and run provctl resync \(mac.hex) --event report, or wait for Report_To_Server)")
        }
        let last = try opened.journal.lastServed([mac])[mac]
        let presented = DeviceLoop.presented(device, model: last?.model, serial: last?.serial)
        let entries = try drift(of: presented, report: report, loop: loop)
        if jsonOutput {
            printJSON(Self.entryJSON(mac, report: report, entries: entries))
            try Pending.findings(entries.count)
            return
        }
        print("report of \(timestamp(micros: report.at)) from \(report.node) (\(report.encoding), \(report.receivedBytes) bytes): "
              + (entries.isEmpty ? "no drift" : "\(entries.count) parameter(s) differ"))
        if !entries.isEmpty {
            var table = Table("PARAMETER", "STATE", "SHOULD BE", "REPORTED", "FROM")
            for entry in entries {
                table.append([entry.name, entry.state, entry.secret ? Secrets.mask : entry.shownExpected,
                              entry.reported.map { entry.secret ? Secrets.mask : $0 }, entry.scope.description])
            }
            table.print()
        }
        try Pending.findings(entries.count)
    }

    /// Every enabled device (of --group) that has a report: one row per differing parameter, and a count of the
    /// devices without a report. Exit 5 when any device drifts.
    func fleet(_ opened: ConfigurationEditor, loop: DeviceLoop) throws {
        // Streamed by the engine; what is kept is what is printed (no report bodies).
        var results: [(MACAddress, StoredReport, [DriftEntry])] = []
        let counts: DriftScan.Counts
        do {
            counts = try DriftScan(store: opened, group: group).run { found in
                var report = found.report
                report.body = []
                results.append((found.mac, report, found.entries))
            }
        } catch let error as LoopError {
            throw Failure(.runtime, error.description, underlying: error)
        }
        let withoutReport = counts.withoutReport
        let drifting = results.filter { !$0.2.isEmpty }.count
        if jsonOutput {
            printJSON(.array(results.map { Self.entryJSON($0.0, report: $0.1, entries: $0.2) }))
        } else {
            var table = Table("MAC", "PARAMETER", "STATE", "SHOULD BE", "REPORTED", "FROM")
            for (mac, _, entries) in results {
                for entry in entries {
                    table.append([mac.hex, entry.name, entry.state, entry.secret ? Secrets.mask : entry.shownExpected,
                                  entry.reported.map { entry.secret ? Secrets.mask : $0 }, entry.scope.description])
                }
            }
            if drifting > 0 { table.print() }
            print("\(results.count) device(s) with a report: \(drifting) drift, \(results.count - drifting) match; "
                  + "\(withoutReport) without a report (provctl resync --event report asks for one)")
        }
        try Pending.findings(drifting)
    }
}

