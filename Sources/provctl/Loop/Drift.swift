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
            Examples: provctl drift 000e08abcdef
                      provctl drift 000e08abcdef --json
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The device's MAC.") var mac: String
    @Flag(name: .customLong("json"), help: "Print JSON (for scripts) instead of a table.") var jsonOutput = false

    func validate() throws { _ = try parseMAC(mac) }

    func run() throws {
        let opened = try store.open()
        let mac = try parseMAC(mac)
        guard let device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
        guard let report = try opened.reports(mac: mac)[mac] else {
            throw Failure(.notFound, "\(mac): no report yet (set Report_Rule to …/report/$MA.xml and send a SIP NOTIFY with Event: report, or wait for Report_To_Server)")
        }
        let last = try opened.lastServed([mac])[mac]
        let loop = try DeviceLoop(store: opened)
        let presented = DeviceLoop.presented(device, model: last?.model, serial: last?.serial)
        let entries = try drift(of: presented, report: report, loop: loop)
        if jsonOutput {
            try printJSON([
                "mac": mac.hex, "report": ["time": timestamp(micros: report.at), "node": report.node, "name": json(report.name),
                                           "encoding": report.encoding, "bytes": report.receivedBytes, "sha256": report.sha256],
                "drift": entries.map { entry -> [String: Any] in
                    ["name": entry.name, "state": entry.state, "secret": entry.secret, "scope": entry.scope.description,
                     "expected": entry.secret ? Secrets.mask : entry.expected,
                     "reported": entry.reported.map { entry.secret ? Secrets.mask : $0 } ?? NSNull()]
                },
            ])
            return
        }
        print("report of \(timestamp(micros: report.at)) from \(report.node) (\(report.encoding), \(report.receivedBytes) bytes): "
              + (entries.isEmpty ? "no drift" : "\(entries.count) parameter(s) differ"))
        guard !entries.isEmpty else { return }
        var table = Table("PARAMETER", "STATE", "SHOULD BE", "REPORTED", "FROM")
        for entry in entries {
            // An empty expected value is one the profile empties (`<X></X>`); what it leaves to the phone is no drift.
            table.append([entry.name, entry.state, entry.secret ? Secrets.mask : entry.expected.isEmpty ? "(empty)" : entry.expected,
                          entry.reported.map { entry.secret ? Secrets.mask : $0 }, entry.scope.description])
        }
        table.print()
    }
}
