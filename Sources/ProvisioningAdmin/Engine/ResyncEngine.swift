import Foundation
public import Provisioning

/// `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address: where to push instead of a phone's proven address.
public struct ResyncAddress: Sendable, Equatable {
    public var host: String
    /// nil: the port the phone listens on (its SIP_Port_1_, or 80 for HTTP).
    public var port: Int?

    /// Why the text is not an address, in the words `--address` errors use.
    public struct Malformed: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String
    }

    public init(_ text: String) throws(Malformed) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw Malformed(description: "--address: \"\(text)\" lacks ]") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { port = nil; return }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else {
                throw Malformed(description: "--address: \"\(text)\": the port must be 1..65535")
            }
            self.port = port
            return
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                throw Malformed(description: "--address: \"\(text)\": the port must be 1..65535")
            }
            host = String(text[..<colon])
            self.port = port
            return
        }
        guard !text.isEmpty else { throw Malformed(description: "--address: empty") }
        host = text
        port = nil
    }
}

/// What `provctl resync` (and an API) asks for: how to push, and to which address.
public struct ResyncOptions: Sendable {
    public enum Via: String, Sendable { case sip, http }
    public var via: Via
    /// The NOTIFY's event (`ResyncEngine.events`); only `resync` with HTTP.
    public var event: String
    /// Phones per second.
    public var rate: Double
    public var address: ResyncAddress?
    /// SIP timer T1 in milliseconds.
    public var t1: Int
    /// HTTP: send a set Admin_Password over plain HTTP all the same.
    public var cleartextCredentials: Bool

    public init(via: Via = .sip, event: String = "resync", rate: Double = 10, address: ResyncAddress? = nil, t1: Int = 500,
                cleartextCredentials: Bool = false) {
        self.via = via
        self.event = event
        self.rate = rate
        self.address = address
        self.t1 = t1
        self.cleartextCredentials = cleartextCredentials
    }
}

/// One device's push, decided before anything is sent.
public struct ResyncPlan: Sendable {
    public var device: Device
    public var host: String?
    public var port: Int
    public var parameters: [String: ResolvedParameter]
    /// Its settings cannot be resolved: not pushed.
    public var problem: String?
    /// Why there is nothing to push to (no address, disabled, Resync_From_SIP No): outcome `skipped`.
    public var skip: String?
    public var model: String?
    /// `certificate`, `account` (the last proven fetch's) or `admin` (an address given).
    public var addressSource: String?
    /// A refusal of trust (no proven address, cleartext credentials), not a failure of the phone.
    public var refused: String?

    /// The planned address as the outcome names it, `-` when there is none.
    public var address: String { host.map { $0.contains(":") ? "[\($0)]:\(port)" : "\($0):\(port)" } ?? "-" }

    /// A setting's value as the phone uses it: trimmed, its macros expanded.
    func value(_ name: String) -> String? {
        parameters[name].map { DeviceLoop.expandMacros($0.value.trimmingCharacters(in: .whitespaces), device: device) }
    }
}

/// One phone's outcome as a value: what was sent and what came back, and the word it is listed under.
public struct ResyncResult: Sendable {
    public enum Kind: String, Sendable { case ok, failed, skipped, refused }
    public var outcome: ResyncOutcome
    public var kind: Kind
    /// Where the address came from (`ResyncPlan.addressSource`), nil when there was none.
    public var addressSource: String?
}

/// What a whole push did.
public struct ResyncSummary: Sendable {
    public var results: [ResyncResult] = []
    /// The skipped devices by reason, in the order the reasons first came up.
    public var skippedByReason: [(reason: String, macs: [MACAddress])] = []
    public var accepted: Int { results.count { $0.kind == .ok } }
    public var failed: Int { results.count { $0.kind == .failed } }
    /// Devices skipped and refused (a MAC named twice counts once).
    public var skipped: Int { Set(results.filter { $0.kind == .skipped }.map(\.outcome.mac)).count }
    public var refused: Int { Set(results.filter { $0.kind == .refused }.map(\.outcome.mac)).count }
}

/// Selects, plans and pushes a resync (SIP NOTIFY through `SIPNotifier`, or the phone's XML execute interface
/// through `HTTPExecute`), paced at `rate` phones per second, each phone's outcome a value.
public enum ResyncEngine {
    /// The SIP NOTIFY events Cisco documents for its phones (FACTS §7; check-sync as BroadWorks sends it).
    public static let events = ["resync", "check-sync", "report", "reboot_now", "restart_now"]

    /// Which devices to push to.
    public enum Selection: Sendable {
        case macs([MACAddress])
        /// Every enabled device of the group.
        case group(String)
        /// Every device `pending` lists as changed or failed on phone.
        case pending
    }

    /// The devices of `selection`; a MAC that is no device, or a group without an enabled device, is `.notFound`.
    public static func devices(_ selection: Selection, store: ConfigurationEditor) throws -> [Device] {
        var devices: [Device] = []
        switch selection {
        case .macs(let macs):
            for mac in macs {
                guard let device = try store.device(mac: mac) else { throw AdminError(.notFound, "MAC: \(mac) is not a device") }
                devices.append(device)
            }
        case .group(let group):
            devices = try store.devices(matching: DeviceFilter(group: group, enabled: true)).map(\.device)
            if devices.isEmpty { throw AdminError(.notFound, "--group: no enabled device in group \(group)") }
        case .pending:
            try PendingScan(store: store).run { entry in
                if entry.states.contains("changed") || entry.states.contains("failed on phone") { devices.append(entry.device) }
            }
        }
        return devices
    }

    /// Each device's plan: its address (only a proven one, or the one given), port, settings, and whether it is
    /// refused (no proven address; credentials or a key that plain HTTP would expose) or skipped.
    public static func plan(_ devices: [Device], store: ConfigurationEditor, options: ResyncOptions) throws -> [ResyncPlan] {
        let lastFetch = try store.journal.lastFetch(devices.map(\.mac))
        let loop = try DeviceLoop(store: store)
        var plans: [ResyncPlan] = []
        for device in devices {
            let last = lastFetch[device.mac]
            let presented = DeviceLoop.presented(device, model: last?.model, serial: last?.serial)
            var plan = ResyncPlan(device: presented, host: nil, port: 0, parameters: [:], model: presented.model)
            do {
                plan.parameters = try loop.parameters(presented)
            } catch {
                plan.problem = "settings: \(renderProblem(error))"
            }
            let defaultPort = options.via == .sip ? (plan.value("SIP_Port_1_").flatMap { Int($0) } ?? 5060) : 80
            // Only a proven address (lastFetch reads trusted rows only) or the admin's own.
            if let address = options.address {
                (plan.host, plan.port) = (address.host, address.port ?? defaultPort)
                plan.addressSource = "admin"
            } else if let last, let remote = last.remoteAddress {
                plan.host = remote
                plan.port = defaultPort
                plan.addressSource = last.certificateSHA256 != nil ? "certificate" : "account"
            } else if try store.journal.hasUnprovenFetch(device.mac) {
                plan.refused = "no address proven by a certificate or account fetch (a bootstrap fetch proves nothing; use --address)"
            } else {
                plan.skip = "no address: never fetched a profile (use --address)"
            }
            if options.via == .http, plan.refused == nil, plan.skip == nil, !options.cleartextCredentials,
               !(plan.parameters["Admin_Password"]?.value.trimmingCharacters(in: .whitespaces).isEmpty ?? true) {
                plan.refused = "Admin_Password would cross plain HTTP to /CGI/Execute (--cleartext-credentials to send it anyway, or --via sip)"
            }
            if options.via == .http, plan.refused == nil, plan.skip == nil {
                let rule = plan.parameters["Profile_Rule"]?.value ?? ""
                if Secrets.maskRule(rule) != rule {
                    plan.refused = "Profile_Rule holds a --key or --pwd, which plain HTTP would expose (use --via sip)"
                } else if plan.model == nil {
                    plan.skip = "model unknown (the element is CP-<model>-3PCCExecute)"
                }
            }
            if !device.enabled { plan.skip = plan.skip ?? "disabled" }
            if options.via == .sip && ["resync", "check-sync"].contains(options.event) && plan.value("Resync_From_SIP")?.lowercased() == "no" {
                plan.skip = plan.skip ?? "Resync_From_SIP is No: the phone ignores the NOTIFY"
            }
            plans.append(plan)
        }
        return plans
    }

    /// Pushes `plans`: the refused, skipped and unresolvable ones are settled first, in plan order, then the rest
    /// are sent at `rate` per second. `each` gets every phone's result as it is known.
    public static func push(_ plans: [ResyncPlan], options: ResyncOptions, each: (ResyncResult) -> Void) -> ResyncSummary {
        var summary = ResyncSummary()
        let sources = Dictionary(plans.map { ($0.device.mac, $0.addressSource) }, uniquingKeysWith: { a, _ in a })
        func settle(_ outcome: ResyncOutcome, _ kind: ResyncResult.Kind) {
            let result = ResyncResult(outcome: outcome, kind: kind, addressSource: sources[outcome.mac] ?? nil)
            summary.results.append(result)
            each(result)
        }
        var runnable: [ResyncPlan] = []
        for plan in plans {
            let mac = plan.device.mac
            if let refused = plan.refused {
                settle(ResyncOutcome(mac: mac, address: plan.address, succeeded: false, status: nil, detail: "refused: \(refused)",
                                     sent: 0, milliseconds: 0), .refused)
            } else if let skip = plan.skip {
                if let index = summary.skippedByReason.firstIndex(where: { $0.reason == skip }) {
                    summary.skippedByReason[index].macs.append(mac)
                } else {
                    summary.skippedByReason.append((skip, [mac]))
                }
                settle(ResyncOutcome(mac: mac, address: plan.address, succeeded: false, status: nil, detail: "skipped: \(skip)",
                                     sent: 0, milliseconds: 0), .skipped)
            } else if let problem = plan.problem {
                settle(ResyncOutcome(mac: mac, address: plan.address, succeeded: false, status: nil, detail: "not pushed: \(problem)",
                                     sent: 0, milliseconds: 0), .failed)
            } else {
                runnable.append(plan)
            }
        }
        func pushed(_ outcome: ResyncOutcome) { settle(outcome, outcome.succeeded ? .ok : .failed) }
        switch options.via {
        case .sip:
            let targets = runnable.map { plan -> ResyncTarget in
                let user = plan.value("User_ID_1_") ?? ""
                let useAuthID = plan.value("Use_Auth_ID_1_")?.lowercased() == "yes"
                let authID = useAuthID ? plan.value("Auth_ID_1_").flatMap { $0.isEmpty ? nil : $0 } : nil
                let password = plan.value("Password_1_").flatMap { $0.isEmpty ? nil : $0 }
                return ResyncTarget(mac: plan.device.mac, host: plan.host!, port: plan.port, user: user,
                                    authID: authID ?? user, password: password)
            }
            _ = SIPNotifier(t1Milliseconds: options.t1, event: options.event).run(targets, rate: options.rate, report: pushed)
        case .http:
            let client = HTTPExecute()
            let spacing = 1.0 / options.rate
            for (index, plan) in runnable.enumerated() {
                if index > 0 { Thread.sleep(forTimeInterval: spacing) }
                let rule = plan.parameters["Profile_Rule"]?.value ?? ""
                // Refused (a key in the rule) and skipped (no model) were settled with the plan.
                guard let model = plan.model else { continue }
                let password = plan.parameters["Admin_Password"]?.value.trimmingCharacters(in: .whitespaces)
                pushed(client.execute(mac: plan.device.mac, host: plan.host!, port: plan.port,
                                      document: HTTPExecute.document(model: model, rule: rule), username: "admin",
                                      password: password.flatMap { $0.isEmpty ? nil : $0 }))
            }
        }
        return summary
    }
}
