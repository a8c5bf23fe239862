import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct Resync: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell phones to resync now: SIP NOTIFY (Event: resync) or the phone's XML execute interface.",
        discussion: """
            --via sip (default): a NOTIFY with `Event: resync` over UDP to the phone, at --address, else the \
            address of its last proven fetch (a certificate or account fetch; a bootstrap caller proves nothing \
            and its address is never used: a phone seen only so is `refused`, one never seen `skipped`), on its \
            SIP_Port_1_ \
            (default 5060). Each line says where the address came from (address_source: certificate, account or \
            admin). The phone challenges it (401/407); \
            the answer uses its first line's credentials from its settings (Auth_ID_1_ when Use_Auth_ID_1_ is \
            Yes, else User_ID_1_; Password_1_). Retransmitted as RFC 3261 says (T1 500 ms doubling to 4 s; no \
            final answer in 32 s is a failure). The phone must have Resync_From_SIP Yes.
            --via http: POST of XML=<CP-xxxx-3PCCExecute><ExecuteItem URL="Resync:RULE"/>... to \
            http://PHONE/CGI/Execute (CISCO_XML_EXE_Enable), as admin with Admin_Password when set: plain HTTP \
            carries Basic in cleartext and Digest over a nonce the listener chose, so a phone with an \
            Admin_Password is `refused` unless --cleartext-credentials is given (with a warning); refused too \
            when the rule holds a --key or --pwd, which plain HTTP would expose.
            What a hostile listener at a proven address can still learn from a SIP push: the answer to its own \
            digest challenge (crackable offline for a weak password). Send the NOTIFY through the provider's SIP \
            proxy instead (--address PROXY) where phones may be impersonated (docs/security.md).
            --event: what the NOTIFY asks for: resync (default), check-sync (the same, as BroadWorks names it), \
            report (the phone POSTs its configuration to Report_Rule: provctl drift then compares it), \
            reboot_now or restart_now (Cisco's documented events; the phone restarts). Only resync with --via http.
            --pending pushes the devices `provctl pending` lists as changed or failed on phone.
            Each phone's outcome: ok, failed (it did not accept, or could not be reached), skipped (nothing to \
            push to: never fetched, disabled, Resync_From_SIP No), refused (no proven address, or credentials that \
            would cross plain HTTP; fails the run). Skipped devices are counted, \
            listed by reason, and do not fail the run.
            Phones are pushed --rate per second (default 10), so that 10,000 phones resync over 17 minutes \
            rather than at once; each answer is printed as it comes. Exit status 0 when every phone pushed \
            accepted (skipped ones included), 7 when any did not (or could not be reached).
            Behind NAT the fetch address is not the phone's: send the NOTIFY through the provider's SIP server \
            instead (docs/reference.md, "Closing the loop": "Through the provider's SIP server instead").
            --job queues the push as a job of the admin daemon (provisioner-admind, which must be running with             the same database; its jobs.db in --state-dir, by default the database's folder) instead of pushing             from here: the devices are fixed now, the daemon pushes them paced, and provctl job show|items|wait|            cancel ID follow it (the same job as POST /api/v1/resync). At most one resync job at a time (exit 4).
            Examples: provctl resync 000e08abcdef
                      provctl resync --pending --rate 5
                      provctl resync --group sales --via http
                      provctl resync 000e08abcdef --event report
                      provctl resync 000e08abcdef --address 192.0.2.10:5062
                      provctl resync --group sales --rate 5 --job && provctl job wait 1
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The devices (any MAC spelling).") var macs: [String] = []
    @Option(help: "Every enabled device of this group.") var group: String?
    @Flag(help: "Every device `provctl pending` lists as changed or failed on phone.") var pending = false
    @Option(help: "The NOTIFY's event: resync, check-sync, report, reboot_now or restart_now.") var event = "resync"
    @Option(help: "sip or http.") var via: String = "sip"
    @Option(help: "Phones per second.") var rate: Double = 10
    @Option(help: ArgumentHelp("Send to HOST[:PORT] instead of each phone's last fetch address.", valueName: "host[:port]"))
    var address: String?
    @Option(help: ArgumentHelp("SIP timer T1 in milliseconds (RFC 3261: 500).", valueName: "ms")) var t1: Int = 500
    @Flag(name: .customLong("json"), help: "Print JSON (for scripts): one entry per phone.") var jsonOutput = false
    @Flag(help: "--via http: send Admin_Password over plain HTTP (Basic or Digest to /CGI/Execute) all the same.")
    var cleartextCredentials = false
    @Flag(help: "Queue the push as a job of the admin daemon instead of pushing from here; print the job.") var job = false
    @OptionGroup var jobState: JobStateOptions

    func validate() throws {
        _ = try macs.map { try parseMAC($0) }
        let sources = (macs.isEmpty ? 0 : 1) + (group == nil ? 0 : 1) + (pending ? 1 : 0)
        if sources != 1 { throw ValidationError("MAC: give MACs, --group G or --pending (one of them)") }
        if via != "sip" && via != "http" { throw ValidationError("--via: \"\(via)\" must be sip or http") }
        if !Self.events.contains(event) { throw ValidationError("--event: \"\(event)\" must be one of \(Self.events.joined(separator: ", "))") }
        if via == "http" && event != "resync" { throw ValidationError("--event: \(event) only with --via sip (the XML execute interface resyncs)") }
        if !(rate > 0 && rate <= 1000) { throw ValidationError("--rate: \(rate) must be above 0 and at most 1000 per second") }
        if !(10...5000).contains(t1) { throw ValidationError("--t1: \(t1) must be 10..5000 ms") }
        if let address { _ = try Self.parsedAddress(address) }
    }

    /// The SIP NOTIFY events Cisco documents for its phones (FACTS §7; check-sync as BroadWorks sends it).
    static let events = ResyncEngine.events

    /// `--address`, read by the engine.
    static func parsedAddress(_ text: String) throws -> ResyncAddress {
        do {
            return try ResyncAddress(text)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let opened = try store.open()
        let selection: ResyncEngine.Selection = !macs.isEmpty ? .macs(try macs.map { try parseMAC($0) })
            : group.map { .group($0) } ?? .pending
        let devices = try ResyncEngine.devices(selection, store: opened)
        if devices.isEmpty {
            if !jsonOutput { print("no device pending") } else { printJSON(.array([])) }
            return
        }
        let options = ResyncOptions(via: via == "http" ? .http : .sip, event: event, rate: rate,
                                    address: try address.map { try Self.parsedAddress($0) }, t1: t1,
                                    cleartextCredentials: cleartextCredentials)
        if job {
            let record = try ResyncJob.start(devices, options: options, address: address, startedBy: currentUser(),
                                             jobs: try jobState.existing(store))
            Output.emit(ValueResult(json: record.json, text: "job \(record.id): resync of \(devices.count) device(s) queued "
                                    + "(provctl job wait \(record.id))"), json: jsonOutput)
            return
        }
        let plans = try ResyncEngine.plan(devices, store: opened, options: options)
        if via == "http" && cleartextCredentials {
            FileHandle.standardError.write(Data("provctl: warning: --cleartext-credentials: Admin_Password goes over plain HTTP to /CGI/Execute; anyone on the path, or at the address, can read or crack it\n".utf8))
        }
        let summary = ResyncEngine.push(plans, options: options) { result in
            let outcome = result.outcome
            guard !jsonOutput, result.kind != .skipped else { return }
            let word = result.kind == .refused ? "REFUSED" : outcome.succeeded ? "ok     " : "FAILED "
            print(TextEscaper.visible("\(outcome.mac.hex)  \(outcome.address) (\(result.addressSource ?? "-"))  \(word)  \(outcome.detail)"
                  + (outcome.sent > 0 ? "  (\(outcome.sent) sent, \(outcome.milliseconds) ms)" : "")))
            fflush(nil)
        }
        if jsonOutput {
            printResults(summary.results)
        }
        let failed = summary.failed, refused = summary.refused, skipped = summary.skipped
        if !jsonOutput {
            // Skipped devices as one line per reason, with the first few MACs: a migration's 2,000 devices that
            // never fetched are one line, not 2,000.
            for (reason, macs) in summary.skippedByReason {
                print("skipped \(macs.count): \(reason): " + macs.prefix(5).map(\.hex).joined(separator: ", ")
                      + (macs.count > 5 ? ", ..." : ""))
            }
            print("resync: \(summary.accepted) ok, \(failed) failed, \(skipped) skipped" + (refused > 0 ? ", \(refused) refused" : ""))
        }
        if failed + refused > 0 {
            let count = summary.results.count
            var failure = Failure(.pushFailed, refused == 0
                ? "resync: \(failed) of \(count - skipped) phone(s) pushed did not accept"
                : "resync: \(failed) of \(count - skipped - refused) phone(s) pushed did not accept, \(refused) refused")
            // With --json the entries above are the whole answer (each says ok or not): one JSON document.
            failure.reported = jsonOutput
            throw failure
        }
    }

    /// One JSON entry per phone.
    func printResults(_ results: [ResyncResult]) {
        Output.emit(ValueResult(json: JSON.array(results.map { result -> JSON in
            let outcome = result.outcome
            return .object([
                ("address", .string(outcome.address)), ("address_source", .text(result.addressSource)),
                ("detail", .string(outcome.detail)), ("event", .string(event)), ("mac", .string(outcome.mac.hex)),
                ("ms", .int(outcome.milliseconds)), ("ok", .bool(outcome.succeeded)), ("outcome", .string(result.kind.rawValue)),
                ("sent", .int(outcome.sent)), ("status", .number(outcome.status)), ("via", .string(via)),
            ])
        })), json: true)
    }
}
