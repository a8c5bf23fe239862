import Provisioning
import ProvisioningAdmin

/// What a change answers, as provctl prints it with --json: written, the ChangeResult (`EditSummary`'s members
/// and the warnings) with `result: "changed"`; a dry run, its report with `result: "dry_run"`. A dry run that
/// would stop devices rendering is thrown as provctl ends it (`.breaks`: 422 with the devices in `problems`).
enum EditedAnswer {
    static func json(_ edited: Edited<EditSummary>, warnings: [String]) throws -> JSON {
        switch edited {
        case .dryRun(let report):
            if !report.breaking.isEmpty { throw report.failure }
            return tagged("dry_run", report.json)
        case .written(let summary):
            guard case .object(let members) = summary.json else { return summary.json }
            return tagged("changed", .object(members + [("warnings", .array(warnings.map(JSON.string)))]))
        }
    }

    /// `json` with `result` (API only) first.
    static func tagged(_ result: String, _ json: JSON) -> JSON {
        guard case .object(let members) = json else { return json }
        return .object([("result", .string(result))] + members)
    }

    /// `session` with its warnings collected into `warnings` (the API answers them; provctl prints them).
    static func collecting(_ session: AdminSession, into warnings: Warnings) -> AdminSession {
        var session = session
        session.warn = { warnings.append($0) }
        return session
    }
}

/// The versions (ETags) of what the API lets a client change: the content they cover holds every value,
/// secrets too, so any change anyone makes changes the tag; the tag itself reveals nothing (`ETagKey`).
enum Versions {
    /// A device's row (not when its phone last fetched: a fetch does not make an admin's edit stale).
    static func device(_ device: Device, _ etags: ETagKey) -> String {
        etags.tag(.sorted(JSON.deviceMembers(device, seen: nil, disclosure: Disclosure(showSecrets: true))))
    }

    /// The current device `mac`'s ETag, or 404.
    static func device(_ mac: MACAddress, in store: ConfigurationEditor, _ etags: ETagKey) throws -> (Device, String) {
        guard let device = try store.device(mac: mac) else { throw APIProblem.notFound("\(mac)", field: "mac") }
        return (device, self.device(device, etags))
    }

    /// The settings stored at `scope`, all partitions, as a whole.
    static func settings(_ scope: Scope, in store: ConfigurationEditor, _ etags: ETagKey) throws -> String {
        let session = AdminSession(who: "", disclosure: Disclosure(showSecrets: true))
        return etags.tag(try SettingsEditor(store: store, session: session).settings(at: scope).json)
    }

    /// The variables stored at `scope`, as a whole.
    static func variables(_ scope: Scope, in store: ConfigurationEditor, _ etags: ETagKey) throws -> String {
        let session = AdminSession(who: "", disclosure: Disclosure(showSecrets: true))
        return etags.tag(try SettingsEditor(store: store, session: session).variables(at: scope).json)
    }
}

extension AdminAPI {
    /// A scope a change or listing may name: a device scope must be a device (404 naming the scope).
    static func existingScope(_ text: String, in store: ConfigurationEditor) throws -> Scope {
        let scope = try AdminAPI.scope(text)
        if case .device(let mac) = scope, try store.device(mac: mac) == nil {
            throw APIProblem.notFound("scope \(text): \(mac) is not a device", field: "scope")
        }
        return scope
    }
}
