import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct Syslog: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach the phones' own syslog messages about resyncs to their fetch history.",
        discussion: """
            Reads a file rsyslog wrote (RSYSLOG_FileFormat or RSYSLOG_TraditionalFileFormat; - for stdin), keeps \
            each phone's "Requesting resync", "Successful resync" and "Resync failed: ERR" messages (the \
            defaults of Log_Request_Msg, Log_Success_Msg, Log_Failure_Msg, and the fixed text of the values set \
            here) and its "Requesting upgrade", "Successful upgrade" and "Upgrade failed: ERR" messages \
            (Log_Upgrade_*_Msg: firmware campaigns judge phones by them), and stores them in this node's journal. The device is the first word of the message that is \
            a device's MAC in any spelling (Syslog_Identifier $MA, $MAU or $MAC, or the $MAC of the message) or \
            its serial ($SN). Importing the same lines again adds nothing. `provctl fetches MAC` then shows \
            each line beside the fetch it belongs to.
            A syslog line is a claim: anyone who can send UDP to the syslog server can write one. A line is \
            kept only when its host is the device's proven address (the address of its last certificate or \
            account fetch) or a relay given with --relay; write the sender's real address into the file \
            (rsyslog's %FROMHOST-IP% in place of %HOSTNAME%, docs/security.md). A time more than 5 minutes \
            ahead of now is taken as now, and each device keeps at most its retention's rows per device \
            (`provctl retention`, default 1000) lines, the newest.
            Examples: provctl syslog /var/log/phones.log
                      provctl syslog --all /var/log/phones.log
                      provctl syslog --relay 192.0.2.2 /var/log/phones.log
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The log file (- for stdin).") var file: String
    @Flag(help: "Keep every message of a known device, not only resync messages.") var all = false
    @Option(name: .customLong("relay"), help: ArgumentHelp("A host whose lines are kept for any device (a syslog relay); repeatable.", valueName: "host"))
    var relays: [String] = []

    @OptionGroup var format: JSONOption

    func run() throws {
        let opened = try store.open()
        let importer = try SyslogImport(store: opened, now: Clock.unixMicroseconds())
        let bytes: [UInt8]
        if file == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            bytes = try readFile(file)
        }
        var report = importer.read(bytes, all: all)
        // Only a device's proven address, or a relay, speaks for it; a future time is taken as now.
        try report.store(opened, journal: try openLocalJournal(store), relays: relays, now: Clock.unixMicroseconds())
        let (total, lines, added, unproven) = (report.total, report.lines, report.added, report.unproven)
        let (unrelated, unreadable) = (report.unrelated, report.unreadable)
        let devicesSeen = report.devices
        var summary = "read \(total) line(s): \(lines.count) attached to \(devicesSeen) device(s) (\(added) new)"
        let unknownCount = report.unknownCount
        let named = report.unknownMACs
        if unknownCount > 0 {
            summary += "; \(unknownCount) of no known device"
                + (named.isEmpty ? "" : " (\(named.prefix(5).joined(separator: ", "))\(named.count > 5 ? ", ..." : ""))")
        }
        if unrelated > 0 { summary += "; \(unrelated) not about resyncs" + (all ? "" : " (--all keeps them)") }
        if unreadable > 0 { summary += "; \(unreadable) without an rsyslog timestamp" }
        if unproven > 0 { summary += "; \(unproven) from a host that is not the device's proven address (--relay for a relay)" }
        Output.emit(ValueResult(json: JSON.object([
            ("lines", .int(total)), ("attached", .int(lines.count)), ("devices", .int(devicesSeen)), ("new", .int(added)),
            ("unknown_device", .int(unknownCount)), ("unknown_macs", .array(named.map(JSON.string))),
            ("not_resync", .int(unrelated)), ("unreadable", .int(unreadable)), ("unproven", .int(unproven)),
        ]), text: summary), json: format.json)
    }
}
