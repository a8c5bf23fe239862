import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct Fetches: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the fetch history: every answered request, with what the phone logged about it.",
        discussion: """
            One row per request profile-cgi answered (every node's journal), oldest first: time, MAC, TRUST \
            (`proven`: a certificate or account of the device; `CLAIM`: a caller that proved nothing, such as a \
            bootstrap fetch, whose row moves nothing: not the device's last contact, address, firmware or \
            pending state; JSON `"trusted": true|false`), status, \
            reason, form, the SHA-256 of the plaintext profile served, the address, and the phone's own syslog \
            lines about it (`provctl syslog`), for example "200 ok cfg ... phone: Resync failed: decrypt error". \
            --limit keeps the newest N (default 50). Kept for the journal's retention (`provctl retention`).
            Examples: provctl fetches 000e08abcdef
                      provctl fetches --since 2h --status 403
                      provctl fetches 000e08abcdef --since 2026-12-02 --json
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "Only this device's fetches (any MAC spelling).") var mac: String?
    @Option(help: ArgumentHelp("Only fetches at or after: a time (2026-12-02T10:00:00Z, 2026-12-02) or an age (30m, 2h, 7d).", valueName: "time"))
    var since: String?
    @Option(help: "Only fetches answered with this HTTP status.") var status: Int?
    @Option(help: "At most this many (the newest).") var limit: Int = 50
    @Flag(name: .customLong("json"), help: "Print JSON (for scripts) instead of a table.") var jsonOutput = false

    func validate() throws {
        if let mac { _ = try parseMAC(mac) }
        if let since { _ = try parseSince(since) }
        if let status, !(100...599).contains(status) { throw ValidationError("--status: \(status) is not an HTTP status (100-599)") }
        if limit < 1 { throw ValidationError("--limit: at least 1") }
    }

    func run() throws {
        let opened = try store.open()
        let query = FetchQuery(mac: try mac.map { try parseMAC($0) }, since: try since.map { try parseSince($0) },
                               status: status, limit: limit)
        let timeline = try opened.fetchTimeline(query)
        if jsonOutput {
            printJSON(.array(timeline.map(\.json)))
            return
        }
        var table = Table("TIME", "MAC", "TRUST", "STATUS", "REASON", "FORM", "SHA256", "ADDRESS", "NODE", "PHONE")
        for item in timeline {
            switch item {
            case .fetch(let fetch):
                table.append([timestamp(micros: fetch.at), fetch.mac?.hex, fetch.trusted ? "proven" : "CLAIM", String(fetch.status), fetch.reason,
                              fetch.form, fetch.sha256.map { String($0.prefix(12)) }, fetch.remoteAddress, fetch.node,
                              fetch.phone.isEmpty ? nil : "phone: " + fetch.phone.map(Self.describe).joined(separator: "; ")])
            case .phoneLine(let line):
                table.append([timestamp(micros: line.at), line.mac.hex, nil, nil, "phone log only", nil, nil, line.host, nil,
                              "phone: " + Self.describe(line)])
            }
        }
        table.print()
    }

    static func describe(_ line: PhoneLine) -> String {
        let message = line.message
        // The message text from the resync words on, when the MAC and product lead it.
        for marker in ["Requesting resync", "Successful resync", "Resync failed"] {
            if let range = message.range(of: marker, options: .caseInsensitive) { return String(message[range.lowerBound...]) }
        }
        return message
    }
}
