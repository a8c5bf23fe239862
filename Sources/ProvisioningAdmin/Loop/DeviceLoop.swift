public import Provisioning

/// What the loop commands need of one device's effective settings, its rendering and its report.
public struct DeviceLoop {
    public let renderer: ProfileRenderer

    public init(store: ConfigurationEditor) throws(SQLiteError) {
        renderer = try ProfileRenderer(store: store, cachesSharedLayers: true)
    }

    /// `device` as profile-cgi sees it when the phone last presented `model` and `serial`: the stored values
    /// win, the certificate's fill what the row leaves empty (they pick the model scope and `{{serial}}`).
    public static func presented(_ device: Device, model: String?, serial: String?) -> Device {
        var copy = device
        if copy.model == nil { copy.model = model }
        if copy.serial == nil { copy.serial = serial }
        return copy
    }

    /// The SHA-256 of the XML profile-cgi would send `device` now (before gzip and encryption): what a fetch
    /// records, so the two compare. The certificate is taken to be the OU/L/ST form of the device's own fields:
    /// a profile that uses other `{{cert.*}}` fields of a CN-form certificate hashes differently.
    public func currentSHA256(_ device: Device) throws(RenderError) -> String {
        Digest.sha256Hex(try renderer.profile(for: device, form: .xml))
    }

    /// The SHA-256 of the bootstrap profile (every secret left out) profile-cgi sends a caller that proved
    /// nothing, for a device whose bootstrap policy is `profile`; nil for any other policy.
    public func bootstrapSHA256(_ device: Device) throws(RenderError) -> String? {
        guard device.bootstrap == .profile else { return nil }
        return Digest.sha256Hex(try ProfileService.document(store: renderer.store.store, device: device, identity: .standIn(for: device),
                                                            withoutSecrets: true))
    }

    /// The merged parameters of `device` by name.
    public func parameters(_ device: Device) throws(RenderError) -> [String: ResolvedParameter] {
        var byName: [String: ResolvedParameter] = [:]
        for parameter in try renderer.parameters(for: device) { byName[parameter.name] = parameter }
        return byName
    }

    /// `value` with the phone's own macros for this device expanded (`$MA`, `$MAU`, `$MAC`, `$SN`, `$PN`, also
    /// as `$(MA)`), for values the phone reports or uses expanded.
    public static func expandMacros(_ value: String, device: Device) -> String {
        guard value.contains("$") else { return value }
        let colon = stride(from: 0, to: 12, by: 2).map { index -> String in
            let start = device.mac.hex.index(device.mac.hex.startIndex, offsetBy: index)
            return String(device.mac.hex[start..<device.mac.hex.index(start, offsetBy: 2)])
        }.joined(separator: ":")
        let macros: [(String, String)] = [
            ("MAU", device.mac.upper), ("MAC", colon), ("MA", device.mac.hex), ("SN", device.serial ?? ""),
            ("PN", device.model.map { ProfileService.productKey($0) } ?? ""),
        ]
        var out = ""
        var index = value.startIndex
        outer: while index < value.endIndex {
            if value[index] == "$" {
                let after = value.index(after: index)
                for (name, expansion) in macros {
                    if value[after...].hasPrefix("(" + name + ")") {
                        out += expansion
                        index = value.index(after, offsetBy: name.count + 2)
                        continue outer
                    }
                    if value[after...].hasPrefix(name) {
                        out += expansion
                        index = value.index(after, offsetBy: name.count)
                        continue outer
                    }
                }
            }
            out.append(value[index])
            index = value.index(after: index)
        }
        return out
    }

    /// How often the phone resyncs on its own, in seconds: `Resync_At__HHmm_` set (valid) means daily;
    /// else `Resync_Periodic` (default 3600; a list `600,1200,300` counts its largest value, a range `2400+30`
    /// its upper end); nil when 0 (periodic resync off).
    public static func resyncInterval(_ parameters: [String: ResolvedParameter]) -> Int? {
        if let at = parameters["Resync_At__HHmm_"]?.value, at.count == 4, at.allSatisfy(\.isNumber) { return 86_400 }
        guard let periodic = parameters["Resync_Periodic"]?.value.trimmingSpaces, !periodic.isEmpty else { return 3600 }
        var largest = 0
        for item in periodic.split(separator: ",") {
            let parts = item.split(separator: "+").map { Int(String($0).trimmingSpaces) }
            guard let base = parts.first ?? nil else { continue }
            largest = max(largest, base + (parts.count > 1 ? (parts[1] ?? 0) : 0))
        }
        return largest > 0 ? largest : nil
    }
}

/// One parameter whose reported value is not what the device should have.
public struct DriftEntry: Sendable, Equatable {
    public var name: String
    /// The value the device should have (its effective setting), nil when it is a secret (never shown).
    public var expected: String
    /// What the phone reported; nil when the report does not carry the parameter.
    public var reported: String?
    public var secret: Bool
    /// The scope the expected value comes from.
    public var scope: Scope

    /// `differs` or `not reported`.
    public var state: String { reported == nil ? "not reported" : "differs" }
}

public enum Drift {
    /// The parameters of `expected` whose reported value differs. Values compare trimmed (the phone trims), and
    /// a value holding phone macros also compares with them expanded for `device`. A secret the phone reports
    /// masked (only `*`) cannot be compared and is left out, as are parameters the device does not set.
    public static func compare(expected: [String: ResolvedParameter], reported: [(name: String, value: String)],
                               device: Device) -> [DriftEntry] {
        var values: [String: String] = [:]
        for (name, value) in reported { values[name] = value }  // the last repeat wins, as on the phone
        var entries: [DriftEntry] = []
        for name in expected.keys.sorted() {
            let parameter = expected[name]!
            let secret = Secrets.isSecret(name)
            let want = parameter.value.trimmingSpaces
            // `<X/>` (leave, or a row whose intent is unknown, served the same) leaves the phone's value: whatever
            // it reports is not drift.
            if want.isEmpty && parameter.intent != .empty { continue }
            guard let got = values[name]?.trimmingSpaces else {
                entries.append(DriftEntry(name: name, expected: want, reported: nil, secret: secret, scope: parameter.scope))
                continue
            }
            if got == want || got == DeviceLoop.expandMacros(want, device: device) { continue }
            if secret && !got.isEmpty && got.allSatisfy({ $0 == "*" }) { continue }
            entries.append(DriftEntry(name: name, expected: want, reported: got, secret: secret, scope: parameter.scope))
        }
        return entries
    }
}

/// A device's latest report, as the journals hold it.
public struct StoredReport: Sendable {
    public var mac: MACAddress
    public var node: String
    /// Unix microseconds.
    public var at: Int
    public var name: String?
    public var encoding: String
    public var receivedBytes: Int
    public var sha256: String
    public var body: [UInt8]
}

extension JournalReader {
    /// The newest report of `mac` (or of every device when nil) over all journals.
    public func reports(mac: MACAddress? = nil) throws(SQLiteError) -> [MACAddress: StoredReport] {
        let statement = try database.prepare("""
            SELECT mac, node, at, name, encoding, received_bytes, sha256, body FROM reports WHERE (?1 IS NULL OR mac = ?1)
            """)
        try statement.bind(1, mac?.hex)
        var reports: [MACAddress: StoredReport] = [:]
        while try statement.step() {
            guard let mac = statement.text(0).flatMap({ MACAddress($0) }) else { continue }
            reports[mac] = StoredReport(mac: mac, node: statement.text(1) ?? "", at: statement.int(2), name: statement.text(3),
                                        encoding: statement.text(4) ?? "", receivedBytes: statement.int(5),
                                        sha256: statement.text(6) ?? "", body: statement.blob(7))
        }
        return reports
    }
}
