import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// One device the loop is not closed for.
struct PendingDevice {
    var device: Device
    /// `changed` (its profile now differs from the last one served), `never seen`, `unknown` (it fetched, but the
    /// fetch history no longer says what: pruned), `render error`, `bootstrap` (it was served its current
    /// bootstrap profile, without secrets: it has proved no identity yet), `refused by server` (its newest
    /// request was refused),
    /// `failed on phone` (after its last fetch the phone logged a failed resync, or reported settings that
    /// differ), `report differs`, `stale`.
    var states: [String]
    /// The phone's own words for `failed on phone` (its syslog line, or what its report says), and when.
    var phoneSaid: String?
    var phoneSaidAt: Int?
    /// The server's reason for `refused` (`model mismatch`, ...).
    var refusal: String?
    var currentSHA256: String?
    var served: FetchRecord?
    /// Unix seconds of its last contact (any fetch, or the `seen` row).
    var lastContact: Int?
    var staleAfter: Int?
    var drift: Int?
    var problem: String?
}

/// Compares every enabled device's current rendering with what it was last served.
struct PendingScan {
    var store: ConfigurationEditor
    var group: String?
    /// Also list devices not seen for longer than `staleAfter` (nil: 3× their resync interval).
    var stale: Bool
    var staleAfter: Int?

    func run() throws -> [PendingDevice] {
        let devices = try store.devices(matching: DeviceFilter(group: group, enabled: true))
        let macs = devices.map(\.device.mac)
        let served = try store.journal.lastServed(macs)
        let lastFetch = try store.journal.lastFetch(macs)
        let lastCertified = try store.journal.lastCertifiedRequest(macs)
        let phoneOutcomes = try store.journal.lastPhoneOutcome(macs)
        let reports = try store.journal.reports()
        let loop = try DeviceLoop(store: store)
        let now = Clock.unixSeconds()
        var pending: [PendingDevice] = []
        for (device, seen) in devices {
            let last = served[device.mac]
            let presented = DeviceLoop.presented(device, model: last?.model, serial: last?.serial)
            var entry = PendingDevice(device: device, states: [], served: last)
            let contacts = [seen?.lastSeen, lastFetch[device.mac].map { $0.at / 1_000_000 }].compactMap { $0 }
            entry.lastContact = contacts.max()
            do {
                entry.currentSHA256 = try loop.currentSHA256(presented)
            } catch {
                entry.states.append("render error")
                entry.problem = provctlRenderProblem(error)
            }
            if let last {
                // A device served its bootstrap profile (no secrets, it proved nothing) has the current one when
                // that matches: "bootstrap", which a push cannot change, not "changed" forever.
                if let current = entry.currentSHA256, last.sha256 != current {
                    if last.sha256 != nil, (try? loop.bootstrapSHA256(presented)) == last.sha256 {
                        entry.states.append("bootstrap")
                    } else {
                        entry.states.append("changed")
                    }
                }
            } else if seen != nil {
                entry.states.append("unknown")
            } else {
                entry.states.append("never seen")
            }
            // The server refused the phone's newest request (403 model mismatch, ...): the phone cannot get its
            // profile until the admin acts.
            // (A profile request: a refused report POST is no reason the phone lacks its profile.)
            if let fetch = lastCertified[device.mac], fetch.status >= 400, fetch.at > (last?.at ?? 0),
               fetch.method == nil || fetch.method == "GET" || fetch.method == "HEAD", !(fetch.path ?? "").contains("/report/") {
                // It called: not "never seen", but refused (a model typo gets 403 model mismatch).
                entry.states.removeAll { $0 == "never seen" }
                entry.states.append("refused by server")
                entry.refusal = "\(fetch.status) \(fetch.reason)"
            }
            // What the phone said after its last profile: a failed resync in its syslog ("Resync failed: decrypt
            // error") that no success followed.
            let servedAt = last?.at ?? 0
            if let said = phoneOutcomes[device.mac], said.kind == "failure", said.at >= servedAt - JournalReader.phoneSkew {
                entry.states.append("failed on phone")
                entry.phoneSaid = said.message
                entry.phoneSaidAt = said.at
            }
            if let report = reports[device.mac] {
                do {
                    entry.drift = try drift(of: presented, report: report, loop: loop).count
                    if entry.drift! > 0 {
                        // A report sent after the last fetch that still differs: the phone did not take it.
                        if report.at > servedAt, last != nil, !entry.states.contains("failed on phone") {
                            entry.states.append("failed on phone")
                            entry.phoneSaid = "its report of \(timestamp(micros: report.at)) differs in \(entry.drift!) parameter(s) (provctl drift \(device.mac.hex))"
                            entry.phoneSaidAt = report.at
                        }
                        entry.states.append("report differs")
                    }
                } catch {
                    entry.problem = entry.problem ?? "\(error)"
                }
            }
            if stale, let contact = entry.lastContact {
                var limit = staleAfter
                if limit == nil, let parameters = try? loop.parameters(presented), let interval = DeviceLoop.resyncInterval(parameters) {
                    limit = 3 * interval
                }
                entry.staleAfter = limit
                if let limit, now - contact > limit { entry.states.append("stale") }
            }
            if !entry.states.isEmpty { pending.append(entry) }
        }
        return pending
    }
}

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
        let pending = try PendingScan(store: opened, group: group, stale: stale,
                                      staleAfter: try staleAfter.map { try parseDuration($0, option: "--stale-after") }).run()
        if jsonOutput {
            try printJSON(pending.map { entry -> [String: Any] in
                [
                    "mac": entry.device.mac.hex, "group": json(entry.device.group), "model": json(entry.device.model),
                    "states": entry.states, "current_sha256": json(entry.currentSHA256),
                    "served_sha256": json(entry.served?.sha256),
                    "last_served": json(entry.served.map { timestamp(micros: $0.at) }),
                    "last_contact": json(entry.lastContact.map { timestamp($0) }),
                    "stale_after_s": json(entry.staleAfter), "report_drift": json(entry.drift),
                    "problem": json(entry.problem), "refusal": json(entry.refusal), "phone_said": json(entry.phoneSaid),
                    "phone_said_at": json(entry.phoneSaidAt.map { timestamp(micros: $0) }),
                ]
            })
            try Self.findings(pending.count)
            return
        }
        var table = Table("MAC", "GROUP", "STATE", "LAST SERVED", "SERVED", "CURRENT", "LAST CONTACT", "NOTE")
        for entry in pending {
            table.append([entry.device.mac.hex, entry.device.group, entry.states.joined(separator: ", "),
                          entry.served.map { timestamp(micros: $0.at) }, entry.served?.sha256.map { String($0.prefix(12)) },
                          entry.currentSHA256.map { String($0.prefix(12)) }, entry.lastContact.map { timestamp($0) },
                          entry.problem ?? entry.refusal.map { "server answered " + $0 } ?? entry.phoneSaid.map { "phone: " + $0 }
                              ?? entry.drift.flatMap { $0 > 0 ? "\($0) parameter(s) differ (provctl drift)" : nil }])
        }
        table.print()
        if stdoutIsTerminal || pending.isEmpty {
            print("\(pending.count) device(s) pending")
        }
        try Self.findings(pending.count)
    }

    /// Exit status 5 (findings) when something was listed; the listing is the whole answer.
    static func findings(_ count: Int) throws {
        guard count > 0 else { return }
        var failure = Failure(.problems, "")
        failure.reported = true
        throw failure
    }
}
