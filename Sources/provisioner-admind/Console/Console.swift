import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import Provisioning
import ProvisioningAdmin

/// The console (issue 26): server-rendered pages at `/console/` on the admin virtual host, behind the same Apache
/// authentication and roles as the API, reading through the same engine. No script: every page works without it.
/// Everything that came from a phone or a file goes through `Shown` (controls and bidi overrides made visible)
/// and then mustache's HTML escaping (`{{ }}` escapes & < > " '); the only unescaped parts (`{{{ }}}`) are the page
/// bodies and charts this file built from escaped parts. Every answer carries a strict Content-Security-Policy
/// (no script at all, styles only from the stylesheet), refuses framing and sniffing.
struct Console: Sendable {
    let store: AdminStore
    /// The daemon's jobs (resync pushes, reverts): what the jobs pages show and cancel.
    let jobs: JobStore
    let library: MustacheLibrary
    /// The CSRF checks every change passes (`ConsoleGuard`).
    let guard_: ConsoleGuard

    init(store: AdminStore, jobs: JobStore) throws {
        self.store = store
        self.jobs = jobs
        self.guard_ = ConsoleGuard(key: store.etags.key)
        var library = MustacheLibrary()
        for (name, bytes) in [("layout", PackageResources.layout_mustache), ("fleet", PackageResources.fleet_mustache),
                              ("devices", PackageResources.devices_mustache), ("device", PackageResources.device_mustache),
                              ("claims", PackageResources.claims_mustache), ("settings", PackageResources.settings_mustache),
                              ("preview", PackageResources.preview_mustache), ("problem", PackageResources.problem_mustache),
                              ("pending", PackageResources.pending_mustache), ("history", PackageResources.history_mustache),
                              ("changeset", PackageResources.changeset_mustache), ("jobs", PackageResources.jobs_mustache),
                              ("job", PackageResources.job_mustache), ("campaigns", PackageResources.campaigns_mustache),
                              ("campaign", PackageResources.campaign_mustache)] {
            try library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        self.library = library
    }

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        .xContentTypeOptions: "nosniff",
        // Same-origin: the browser sends this console's Origin on its own posts (ConsoleGuard checks it; with
        // no-referrer it would send `Origin: null`) and nothing to another site.
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        .cacheControl: "no-store",
    ]

    func register(on router: Router<BasicRequestContext>) {
        let group = router.group("/console")
        group.get("/style.css") { _, _ in
            var headers = Console.securityHeaders
            headers[.contentType] = "text/css; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.style_css)))
        }
        group.get("/favicon.svg") { _, _ in
            var headers = Console.securityHeaders
            headers[.contentType] = "image/svg+xml"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.favicon_svg)))
        }
        group.get("/") { _, _ in try await page("Fleet", "fleet", nav: "fleet", try await fleet()) }
        group.get("/devices") { request, _ in
            let query = request.uri.queryParameters
            return try await page("Devices", "devices", nav: "devices",
                                  try await devices(q: query["q"].map(String.init), after: query["after"].map(String.init)))
        }
        group.get("/devices/:mac") { _, context in
            let text = context.parameters.get("mac") ?? ""
            guard let mac = MACAddress(text) else { throw HTTPError(.notFound) }
            return try await page("Device \(mac.hex)", "device", nav: "devices", try await device(mac))
        }
        group.get("/claims") { _, _ in try await page("Claims", "claims", nav: "claims", try await claims()) }
        registerChanges(on: group)
        registerCampaigns(on: group)
    }

    /// A whole page: the body template rendered with `values` (plus `csrf`, the caller's token, and `admin`, true
    /// when the caller may change things: the forms are shown to admins only), inside the layout. `refresh`: the
    /// page reloads itself every 2 seconds (a running job's progress, with no script).
    func page(_ title: String, _ template: String, nav: String, _ values: [String: Any], status: HTTPResponse.Status = .ok,
              refresh: Bool = false) async throws -> Response {
        let caller = try Caller.required()
        var values = values
        values["csrf"] = guard_.token(for: caller.user)
        values["admin"] = caller.role == .admin
        let body = library.render(values, withTemplate: template) ?? ""
        let html = library.render(["title": Shown.text(title), "body": body, "user": Shown.text(caller.user),
                                   "role": caller.role.rawValue, "nav": [nav: true], "refresh": refresh],
                                  withTemplate: "layout") ?? ""
        var headers = Console.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: pages

    func fleet() async throws -> [String: Any] {
        let since = (Clock.unixSeconds() - 86_400) * 1_000_000
        let read = try await store.read { editor in
            FleetPage(devices: try FleetFigures.devices(in: editor), claims: try FleetFigures.claims(in: editor),
                      failures: try FleetFigures.failures(since: since, in: editor),
                      firmware: try FleetFigures.firmware(in: editor), nodes: try FleetFigures.newestRecord(in: editor))
        }
        var byModel: [String: Int] = [:]
        for row in read.devices { byModel[row.model, default: 0] += row.count }
        let now = Clock.unixSeconds()
        return [
            "devices": read.devices.reduce(0) { $0 + $1.count },
            "enabled": read.devices.filter(\.enabled).reduce(0) { $0 + $1.count },
            "claims": read.claims,
            "failures": read.failures.reduce(0) { $0 + $1.count },
            "modelChart": Chart.bars(byModel.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, $0.value) },
                                     label: "Devices by model"),
            "firmwareChart": Chart.bars(read.firmware.map { ($0.firmware.isEmpty ? "unknown" : $0.firmware, $0.count) },
                                        label: "Devices by the firmware of their last fetch"),
            "hasFailures": !read.failures.isEmpty,
            "failureReasons": read.failures.map { ["status": $0.status, "reason": Shown.text($0.reason), "count": $0.count] },
            "nodes": read.nodes.map { row -> [String: Any] in
                let seconds = row.at / 1_000_000
                return ["node": Shown.text(row.node), "at": Shown.time(seconds), "age": Shown.age(now - seconds)]
            },
        ]
    }

    struct FleetPage: Sendable {
        var devices: [(model: String, enabled: Bool, count: Int)]
        var claims: Int
        var failures: [(status: Int, reason: String, count: Int)]
        var firmware: [(firmware: String, count: Int)]
        var nodes: [(node: String, at: Int)]
    }

    static let pageSize = 100

    func devices(q: String?, after: String?) async throws -> [String: Any] {
        let search = q.map { String($0.prefix(128)) }.flatMap { $0.isEmpty ? nil : $0 }
        let rows = try await store.read { editor in
            try ConsoleRows.devices(editor, search: search, after: after.flatMap(MACAddress.init), limit: Console.pageSize)
        }
        return [
            "q": Shown.text(search),
            "caption": search.map { "Devices matching “\(Shown.text($0))”" } ?? "All devices, by MAC",
            "rows": rows.map { row -> [String: Any] in
                ["mac": row.device.mac.hex, "serial": Shown.text(row.device.serial), "model": Shown.text(row.device.model),
                 "group": Shown.text(row.device.group), "enabled": row.device.enabled ? "yes" : "no",
                 "lastSeen": row.seen.map { Shown.time($0.lastSeen) } ?? "never",
                 "firmware": Shown.text(row.seen?.firmware)]
            },
            "next": rows.count == Console.pageSize ? (rows.last?.device.mac.hex as Any) : false,
        ]
    }

    func device(_ mac: MACAddress) async throws -> [String: Any] {
        let read = try await store.read { editor -> (Device, [FetchTimelineItem])? in
            guard let device = try editor.device(mac: mac) else { return nil }
            return (device, try editor.fetchTimeline(FetchQuery(mac: mac, limit: 50)))
        }
        guard let (device, timeline) = read else { throw HTTPError(.notFound) }
        return [
            "mac": device.mac.hex, "serial": Shown.text(device.serial), "model": Shown.text(device.model),
            "group": Shown.text(device.group), "enabled": device.enabled ? "yes" : "no",
            "encryption": device.encryption.name,
            "timeline": timeline.reversed().map { item -> [String: Any] in
                switch item {
                case .fetch(let fetch):
                    return ["fetch": ["at": Shown.time(fetch.at / 1_000_000), "status": fetch.status, "reason": Shown.text(fetch.reason),
                                      "form": Shown.text(fetch.form), "firmware": Shown.text(fetch.firmware),
                                      "proven": fetch.trusted ? "yes" : "no", "sha256": Shown.text(fetch.sha256),
                                      "node": Shown.text(fetch.node),
                                      // The phone's own lines about this fetch (provctl fetches' PHONE column).
                                      "phone": fetch.phone.map { line -> [String: Any] in
                                          ["at": Shown.time(line.at / 1_000_000), "kind": Shown.text(line.kind),
                                           "message": Shown.text(line.message)]
                                      }] as [String: Any]]
                case .phoneLine(let line):
                    return ["line": ["at": Shown.time(line.at / 1_000_000), "kind": Shown.text(line.kind),
                                     "message": Shown.text(line.message)] as [String: Any]]
                }
            },
        ]
    }

    func claims() async throws -> [String: Any] {
        let entries = try await store.read { editor in try ClaimEntry.all(in: editor) }
        return ["rows": entries.map { entry -> [String: Any] in
            let claim = entry.claim
            return ["mac": claim.mac.hex, "serial": Shown.text(claim.serial), "model": Shown.text(claim.model),
                    "userAgent": Shown.text(claim.userAgent), "address": Shown.text(claim.remoteAddress),
                    "firstSeen": Shown.time(claim.firstSeen), "lastSeen": Shown.time(claim.lastSeen), "count": claim.count]
        }]
    }
}

/// Strings as the console shows them, before HTML escaping: a control character, a bidirectional override or
/// isolate, a zero-width or other invisible format character is shown as `⟨U+XXXX⟩`, so a phone's text can neither
/// reorder what surrounds it, hide part of itself, nor reach a terminal that copies it.
enum Shown {
    static func text(_ value: String?) -> String {
        guard let value else { return "" }
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            if isHidden(scalar) {
                out += "⟨U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(4) + "⟩"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F..<0xA0: return true                     // C0, DEL, C1
        case 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2069, 0xFEFF, 0x061C: return true  // zero-width, bidi
        default: return scalar.properties.generalCategory == .format
        }
    }

    static func time(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    static func age(_ seconds: Int) -> String {
        if seconds < 120 { return "\(max(0, seconds)) s" }
        if seconds < 7200 { return "\(seconds / 60) min" }
        if seconds < 172_800 { return "\(seconds / 3600) h" }
        return "\(seconds / 86_400) days"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// A horizontal bar chart as inline SVG, made on the server: labels escaped here (it is inserted unescaped), sizes
/// in attributes (no style attribute, which the policy forbids), a title and a description for screen readers.
enum Chart {
    static func bars(_ items: [(String, Int)], label: String) -> String {
        guard let largest = items.map(\.1).max(), largest > 0 else { return "<p>No data yet.</p>" }
        let rowHeight = 22, labelWidth = 200, barWidth = 360
        let height = items.count * rowHeight + 4
        var svg = "<svg class=\"chart\" role=\"img\" aria-labelledby=\"c-\(label.hashValue & 0xffff)\" width=\"\(labelWidth + barWidth + 80)\" height=\"\(height)\" viewBox=\"0 0 \(labelWidth + barWidth + 80) \(height)\">"
        svg += "<title id=\"c-\(label.hashValue & 0xffff)\">\(escape(label))</title>"
        for (index, (name, value)) in items.enumerated() {
            let y = index * rowHeight + 2
            let width = max(1, value * barWidth / largest)
            svg += "<text x=\"0\" y=\"\(y + 15)\">\(escape(Shown.text(name)))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(width)\" height=\"\(rowHeight - 6)\"><title>\(escape(Shown.text(name))): \(value)</title></rect>"
            svg += "<text x=\"\(labelWidth + width + 6)\" y=\"\(y + 15)\">\(value)</text>"
        }
        return svg + "</svg>"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
