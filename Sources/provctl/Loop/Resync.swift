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
            Examples: provctl resync 000e08abcdef
                      provctl resync --pending --rate 5
                      provctl resync --group sales --via http
                      provctl resync 000e08abcdef --event report
                      provctl resync 000e08abcdef --address 192.0.2.10:5062
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

    func validate() throws {
        _ = try macs.map { try parseMAC($0) }
        let sources = (macs.isEmpty ? 0 : 1) + (group == nil ? 0 : 1) + (pending ? 1 : 0)
        if sources != 1 { throw ValidationError("MAC: give MACs, --group G or --pending (one of them)") }
        if via != "sip" && via != "http" { throw ValidationError("--via: \"\(via)\" must be sip or http") }
        if !Self.events.contains(event) { throw ValidationError("--event: \"\(event)\" must be one of \(Self.events.joined(separator: ", "))") }
        if via == "http" && event != "resync" { throw ValidationError("--event: \(event) only with --via sip (the XML execute interface resyncs)") }
        if !(rate > 0 && rate <= 1000) { throw ValidationError("--rate: \(rate) must be above 0 and at most 1000 per second") }
        if !(10...5000).contains(t1) { throw ValidationError("--t1: \(t1) must be 10..5000 ms") }
        if let address { _ = try Self.split(address, defaultPort: 0) }
    }

    /// `HOST`, `HOST:PORT`, `[V6]:PORT`, or a bare IPv6 address.
    static func split(_ text: String, defaultPort: Int) throws -> (String, Int) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw ValidationError("--address: \"\(text)\" lacks ]") }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (host, defaultPort) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else {
                throw ValidationError("--address: \"\(text)\": the port must be 1..65535")
            }
            return (host, port)
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                throw ValidationError("--address: \"\(text)\": the port must be 1..65535")
            }
            return (String(text[..<colon]), port)
        }
        guard !text.isEmpty else { throw ValidationError("--address: empty") }
        return (text, defaultPort)
    }

    /// The SIP NOTIFY events Cisco documents for its phones (FACTS §7; check-sync as BroadWorks sends it).
    static let events = ["resync", "check-sync", "report", "reboot_now", "restart_now"]

    struct Plan {
        var device: Device
        var host: String?
        var port: Int
        var parameters: [String: ResolvedParameter]
        var problem: String?
        /// Why there is nothing to push to (no address, disabled, Resync_From_SIP No): outcome `skipped`.
        var skip: String?
        var model: String?
        /// `certificate`, `account` (the last proven fetch's) or `admin` (--address).
        var addressSource: String?
        /// A refusal of trust (no proven address, cleartext credentials), not a failure of the phone.
        var refused: String?
    }

    func run() throws {
        let opened = try store.open()
        var devices: [Device] = []
        if !macs.isEmpty {
            for text in macs {
                let mac = try parseMAC(text)
                guard let device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
                devices.append(device)
            }
        } else if let group {
            devices = try opened.devices(matching: DeviceFilter(group: group, enabled: true)).map(\.device)
            if devices.isEmpty { throw Failure(.notFound, "--group: no enabled device in group \(group)") }
        } else {
            try PendingScan(store: opened).run { entry in
                if entry.states.contains("changed") || entry.states.contains("failed on phone") { devices.append(entry.device) }
            }
            if devices.isEmpty {
                if !jsonOutput { print("no device pending") } else { try printJSON([Any]()) }
                return
            }
        }
        let lastFetch = try opened.lastFetch(devices.map(\.mac))
        let loop = try DeviceLoop(store: opened)
        var plans: [Plan] = []
        for device in devices {
            let last = lastFetch[device.mac]
            let presented = DeviceLoop.presented(device, model: last?.model, serial: last?.serial)
            var plan = Plan(device: presented, host: nil, port: 0, parameters: [:], model: presented.model)
            do {
                plan.parameters = try loop.parameters(presented)
            } catch {
                plan.problem = "settings: \(provctlRenderProblem(error))"
            }
            func value(_ name: String) -> String? {
                plan.parameters[name].map { DeviceLoop.expandMacros($0.value.trimmingCharacters(in: .whitespaces), device: presented) }
            }
            let defaultPort = via == "sip" ? (value("SIP_Port_1_").flatMap { Int($0) } ?? 5060) : 80
            // Only a proven address (lastFetch reads trusted rows only) or the admin's own.
            if let address {
                (plan.host, plan.port) = try Self.split(address, defaultPort: defaultPort)
                plan.addressSource = "admin"
            } else if let last, let remote = last.remoteAddress {
                plan.host = remote
                plan.port = defaultPort
                plan.addressSource = last.certificateSHA256 != nil ? "certificate" : "account"
            } else if try opened.hasUnprovenFetch(device.mac) {
                plan.refused = "no address proven by a certificate or account fetch (a bootstrap fetch proves nothing; use --address)"
            } else {
                plan.skip = "no address: never fetched a profile (use --address)"
            }
            if via == "http", plan.refused == nil, plan.skip == nil, !cleartextCredentials,
               !(plan.parameters["Admin_Password"]?.value.trimmingCharacters(in: .whitespaces).isEmpty ?? true) {
                plan.refused = "Admin_Password would cross plain HTTP to /CGI/Execute (--cleartext-credentials to send it anyway, or --via sip)"
            }
            if via == "http", plan.refused == nil, plan.skip == nil {
                let rule = plan.parameters["Profile_Rule"]?.value ?? ""
                if Secrets.maskRule(rule) != rule {
                    plan.refused = "Profile_Rule holds a --key or --pwd, which plain HTTP would expose (use --via sip)"
                } else if plan.model == nil {
                    plan.skip = "model unknown (the element is CP-<model>-3PCCExecute)"
                }
            }
            if !device.enabled { plan.skip = plan.skip ?? "disabled" }
            if via == "sip" && ["resync", "check-sync"].contains(event) && value("Resync_From_SIP")?.lowercased() == "no" {
                plan.skip = plan.skip ?? "Resync_From_SIP is No: the phone ignores the NOTIFY"
            }
            plans.append(plan)
        }
        var outcomes: [ResyncOutcome] = []
        let sources = Dictionary(plans.map { ($0.device.mac, $0.addressSource ?? "-") }, uniquingKeysWith: { a, _ in a })
        var refusedMACs = Set<MACAddress>()
        var skipped: [MACAddress: String] = [:]
        var skippedByReason: [(reason: String, macs: [MACAddress])] = []
        let report: (ResyncOutcome) -> Void = { outcome in
            outcomes.append(outcome)
            if !jsonOutput && skipped[outcome.mac] == nil {
                let word = refusedMACs.contains(outcome.mac) ? "REFUSED" : outcome.succeeded ? "ok     " : "FAILED "
                print(TextEscaper.visible("\(outcome.mac.hex)  \(outcome.address) (\(sources[outcome.mac] ?? "-"))  \(word)  \(outcome.detail)"
                      + (outcome.sent > 0 ? "  (\(outcome.sent) sent, \(outcome.milliseconds) ms)" : "")))
                fflush(nil)
            }
        }
        if via == "http" && cleartextCredentials {
            FileHandle.standardError.write(Data("provctl: warning: --cleartext-credentials: Admin_Password goes over plain HTTP to /CGI/Execute; anyone on the path, or at the address, can read or crack it\n".utf8))
        }
        var runnable: [Plan] = []
        for plan in plans {
            if let refused = plan.refused {
                refusedMACs.insert(plan.device.mac)
                let address = plan.host.map { $0.contains(":") ? "[\($0)]:\(plan.port)" : "\($0):\(plan.port)" } ?? "-"
                report(ResyncOutcome(mac: plan.device.mac, address: address, succeeded: false, status: nil,
                                     detail: "refused: \(refused)", sent: 0, milliseconds: 0))
            } else if let skip = plan.skip {
                skipped[plan.device.mac] = skip
                if let index = skippedByReason.firstIndex(where: { $0.reason == skip }) {
                    skippedByReason[index].macs.append(plan.device.mac)
                } else {
                    skippedByReason.append((skip, [plan.device.mac]))
                }
                report(ResyncOutcome(mac: plan.device.mac, address: plan.host.map { ResyncTarget(mac: plan.device.mac, host: $0, port: plan.port, user: "", authID: nil, password: nil).address } ?? "-",
                                     succeeded: false, status: nil, detail: "skipped: \(skip)", sent: 0, milliseconds: 0))
            } else if let problem = plan.problem {
                let address = plan.host.map { $0.contains(":") ? "[\($0)]:\(plan.port)" : "\($0):\(plan.port)" } ?? "-"
                report(ResyncOutcome(mac: plan.device.mac, address: address, succeeded: false, status: nil,
                                     detail: "not pushed: \(problem)", sent: 0, milliseconds: 0))
            } else {
                runnable.append(plan)
            }
        }
        if via == "sip" {
            let targets = runnable.map { plan -> ResyncTarget in
                func value(_ name: String) -> String? {
                    plan.parameters[name].map { DeviceLoop.expandMacros($0.value.trimmingCharacters(in: .whitespaces), device: plan.device) }
                }
                let user = value("User_ID_1_") ?? ""
                let useAuthID = value("Use_Auth_ID_1_")?.lowercased() == "yes"
                let authID = useAuthID ? value("Auth_ID_1_").flatMap { $0.isEmpty ? nil : $0 } : nil
                let password = value("Password_1_").flatMap { $0.isEmpty ? nil : $0 }
                return ResyncTarget(mac: plan.device.mac, host: plan.host!, port: plan.port, user: user,
                                    authID: authID ?? user, password: password)
            }
            _ = SIPNotifier(t1Milliseconds: t1, event: event).run(targets, rate: rate, report: report)
        } else {
            let client = HTTPExecute()
            let spacing = 1.0 / rate
            for (index, plan) in runnable.enumerated() {
                if index > 0 { Thread.sleep(forTimeInterval: spacing) }
                let rule = plan.parameters["Profile_Rule"]?.value ?? ""
                // Refused (a key in the rule) and skipped (no model) were settled with the plan.
                guard let model = plan.model else { continue }
                let password = plan.parameters["Admin_Password"]?.value.trimmingCharacters(in: .whitespaces)
                report(client.execute(mac: plan.device.mac, host: plan.host!, port: plan.port,
                                      document: HTTPExecute.document(model: model, rule: rule), username: "admin",
                                      password: password.flatMap { $0.isEmpty ? nil : $0 }))
            }
        }
        func outcomeName(_ outcome: ResyncOutcome) -> String {
            refusedMACs.contains(outcome.mac) ? "refused" : outcome.succeeded ? "ok" : skipped[outcome.mac] != nil ? "skipped" : "failed"
        }
        if jsonOutput {
            try printJSON(outcomes.map { outcome -> [String: Any] in
                ["mac": outcome.mac.hex, "address": outcome.address, "via": via, "event": event, "ok": outcome.succeeded,
                 "address_source": json(sources[outcome.mac].flatMap { $0 == "-" ? nil : $0 }),
                 "outcome": outcomeName(outcome), "status": json(outcome.status), "detail": outcome.detail,
                 "sent": outcome.sent, "ms": outcome.milliseconds]
            })
        }
        let failed = outcomes.filter { outcomeName($0) == "failed" }.count
        let refused = refusedMACs.count
        let accepted = outcomes.filter(\.succeeded).count
        if !jsonOutput {
            // Skipped devices as one line per reason, with the first few MACs: a migration's 2,000 devices that
            // never fetched are one line, not 2,000.
            for (reason, macs) in skippedByReason {
                print("skipped \(macs.count): \(reason): " + macs.prefix(5).map(\.hex).joined(separator: ", ")
                      + (macs.count > 5 ? ", ..." : ""))
            }
            print("resync: \(accepted) ok, \(failed) failed, \(skipped.count) skipped" + (refused > 0 ? ", \(refused) refused" : ""))
        }
        if failed + refused > 0 {
            var failure = Failure(.pushFailed, refused == 0
                ? "resync: \(failed) of \(outcomes.count - skipped.count) phone(s) pushed did not accept"
                : "resync: \(failed) of \(outcomes.count - skipped.count - refused) phone(s) pushed did not accept, \(refused) refused")
            // With --json the entries above are the whole answer (each says ok or not): one JSON document.
            failure.reported = jsonOutput
            throw failure
        }
    }
}
