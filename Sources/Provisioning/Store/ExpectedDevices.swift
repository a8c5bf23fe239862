/// A phone the provider expects (an order list's line, `provctl expect import`) or an adoption rule, read by
/// serving only on the first-contact path (a proven certificate of no known device).
///
/// Stored as rows of the configuration's name/value table (`server_keys`, which holds the nonce key), named
/// `expected:` + the entry's key, the value a JSON object (`serial`, `model`, `group`, `variables`, `added_at`,
/// `added_by`). Not a table of its own: every serving connection parses the whole schema on its first statement,
/// so a table costs every known device's request its definition, whatever its rows (callgrind, `.xml` request,
/// 100,000-device database: 1,596,675 instructions without, 1,604,360 with the smallest `CREATE TABLE x (k, v)`,
/// 1,625,320 with a table of these seven columns; the budget is 1.60M). Rows of an existing table cost nothing
/// there, and travel with the file to every serving node.
///
/// Keys: `mac:<12 hex>` for an entry with a MAC (its serial, when given, must be the certificate's too),
/// `serial:<SERIAL in upper case>` for an entry with only a serial (the certificate's product must be the
/// entry's model), `rule:<6 digits>` for an adoption rule (its `serial` holds a serial prefix, `model` a product;
/// the rules are tried in key order).
public struct ExpectedEntry: Sendable, Equatable {
    /// `mac:…`, `serial:…` or `rule:…` (see the type).
    public var key: String
    /// An entry's expected serial; a rule's serial prefix.
    public var serial: String?
    /// An entry's model (the expected product, and the device's model scope); a rule's product.
    public var model: String?
    /// The group the device joins.
    public var group: String?
    /// The device's `{{variables}}`, `name=value;name=value` (`\;` and `\\` inside a value), sorted by name.
    public var variables: String

    public init(key: String, serial: String? = nil, model: String? = nil, group: String? = nil, variables: String = "") {
        self.key = key
        self.serial = serial
        self.model = model
        self.group = group
        self.variables = variables
    }

    /// The key of an entry with this MAC.
    public static func key(mac: MACAddress) -> String { "mac:" + mac.hex }
    /// The key of an entry with only this serial.
    public static func key(serial: String) -> String { "serial:" + serial.uppercased() }
    /// The key of adoption rule `number`.
    public static func key(rule number: Int) -> String {
        let digits = String(number)
        return "rule:" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The entry's MAC (a `mac:` key).
    public var mac: MACAddress? { key.hasPrefix("mac:") ? MACAddress(String(key.dropFirst(4))) : nil }
    /// True for an adoption rule.
    public var isRule: Bool { key.hasPrefix("rule:") }

    /// The device a phone with `identity` becomes: the certificate's MAC and serial, the entry's model (else the
    /// certificate's product; a rule's product is a condition, so a rule's device takes the certificate's), the
    /// entry's group; enabled, plain (no key: it has not been given one yet).
    public func device(for identity: ClientIdentity) -> Device {
        device(mac: identity.mac, serial: identity.serial, product: identity.model)
    }

    /// The device a phone with this proven MAC, serial and product becomes (`device(for:)`).
    public func device(mac: MACAddress, serial: String?, product: String?) -> Device {
        Device(mac: mac, serial: serial.flatMap { $0.isEmpty ? nil : $0 },
               model: isRule ? product : (model ?? product), group: group)
    }

    /// Calls `body` with each `name=value` pair of `variables`, unescaped, in their order.
    public func forEachVariable(_ body: (String, String) -> Void) {
        Self.forEachPart(of: variables) { part in
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")), equals > 0 else { return }
            body(String(decoding: part[..<equals], as: UTF8.self), String(decoding: part[(equals + 1)...], as: UTF8.self))
        }
    }

    /// Calls `body` with each part of a `name=value;name=value` text, split at every `;` not written `\;`, with
    /// `\;` and `\\` unescaped (a `\` before anything else stays): the one reading of the variables cell, for
    /// serving and for `provctl import`'s `variables` column (`VariablesCell`).
    public static func forEachPart(of text: String, _ body: ([UInt8]) throws -> Void) rethrows {
        var part: [UInt8] = []
        var escaped = false
        for byte in text.utf8 {
            if escaped {
                if byte != UInt8(ascii: ";") && byte != UInt8(ascii: "\\") { part.append(UInt8(ascii: "\\")) }
                part.append(byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: ";") {
                try body(part)
                part.removeAll(keepingCapacity: true)
            } else {
                part.append(byte)
            }
        }
        if escaped { part.append(UInt8(ascii: "\\")) }
        try body(part)
    }
}

extension ExpectedEntry {
    /// The device a phone with `identity` becomes from this entry, and the flat-profile XML it is served (before
    /// any encoding): its model, group and default scopes, the entry's variables at the device scope. What
    /// profile-cgi serves on a first contact, and what `provctl expect import` renders to refuse an entry whose
    /// phone would get a 500.
    public func document(store: ConfigurationStore, identity: ClientIdentity,
                         partition: String = "") throws(RenderError) -> (Device, [UInt8]) {
        let device = device(for: identity)
        var rows: LayerRows
        do {
            rows = try store.layerRows(model: device.model, group: device.group, mac: device.mac, partition: partition)
        } catch {
            throw .database(error)
        }
        forEachVariable { name, value in rows.append(kind: .variable, rank: .device, name: name, value: value, access: .none) }
        return (device, try ProfileRecipe.document(rows, device: device, identity: identity, partition: partition))
    }
}

/// What a proven certificate of no known device comes to against the expected devices and adoption rules.
public enum ExpectedMatch: Sendable, Equatable {
    /// An entry with the certificate's MAC (and its serial and product, where the entry names them), or an entry
    /// without a MAC whose serial and product are the certificate's.
    case entry(ExpectedEntry)
    /// No entry, but an adoption rule whose serial prefix and product the certificate has.
    case rule(ExpectedEntry)
    /// An entry has the certificate's MAC (or serial) but another serial or product: never served, kept as a
    /// claim with this reason (`expected serial X, certificate says Y`).
    case mismatch(String)
    /// Nothing expects this phone.
    case none

    /// The entry or rule that serves the phone, if any.
    public var served: ExpectedEntry? {
        switch self {
        case .entry(let entry), .rule(let entry): entry
        case .mismatch, .none: nil
        }
    }

    /// Matches a certificate's MAC, serial and product against the entry with its MAC (`byMAC`), the entry with
    /// its serial (`bySerial`, asked only when no entry has the MAC) and the rules, in their order.
    public static func of(mac: MACAddress, serial: String?, product: String?,
                          byMAC: ExpectedEntry?, bySerial: () throws -> ExpectedEntry?,
                          rules: () throws -> [ExpectedEntry]) rethrows -> ExpectedMatch {
        let serial = serial.flatMap { $0.isEmpty ? nil : $0 }
        if let entry = byMAC {
            if let expected = entry.serial, !expected.isEmpty, !(serial.map { $0.equalsIgnoringCase(expected) } ?? false) {
                return .mismatch("expected serial \(expected), certificate says \(serial ?? "none")")
            }
            if let expected = entry.model, !expected.isEmpty, !ProfileService.sameProduct(expected, product) {
                return .mismatch("expected product \(expected), certificate says \(product ?? "none")")
            }
            return .entry(entry)
        }
        if serial != nil, let entry = try bySerial() {
            guard let expected = entry.model, ProfileService.sameProduct(expected, product) else {
                return .mismatch("expected product \(entry.model ?? "none") with serial \(serial ?? ""), certificate says \(product ?? "none")")
            }
            return .entry(entry)
        }
        for rule in try rules() where rule.isRule {
            let prefix = rule.serial ?? "", wanted = rule.model ?? ""
            if prefix.isEmpty && wanted.isEmpty { continue }
            if !prefix.isEmpty {
                guard let serial, serial.uppercased().hasPrefix(prefix.uppercased()) else { continue }
            }
            if !wanted.isEmpty && !ProfileService.sameProduct(wanted, product) { continue }
            return .rule(rule)
        }
        return .none
    }
}

extension ConfigurationStore {
    /// True when the file has the name/value table the entries are kept in (schema 7 on: every served version).
    public var hasExpectedDevices: Bool { versionAtOpen >= 7 }

    /// The columns `expectedEntry(from:)` reads, from `server_keys`: the key (the name without `expected:`), serial,
    /// model, group, variables, added at (Unix seconds), added by.
    package static let expectedColumns = "substr(name, 10), json_extract(value, '$.serial'), json_extract(value, '$.model'), "
        + "json_extract(value, '$.group'), json_extract(value, '$.variables'), json_extract(value, '$.added_at'), "
        + "json_extract(value, '$.added_by')"
    /// The row name of an entry's key.
    public static func expectedRowName(_ key: String) -> String { "expected:" + key }

    /// The entry or rule with this key, or nil.
    public func expected(key: String) throws(SQLiteError) -> ExpectedEntry? {
        guard hasExpectedDevices else { return nil }
        let statement = try database.prepare("SELECT " + Self.expectedColumns + " FROM server_keys WHERE name = ?1")
        try statement.bind(1, Self.expectedRowName(key))
        return try statement.step() ? Self.expectedEntry(from: statement) : nil
    }

    /// The adoption rules, in the order they are tried.
    public func adoptionRules() throws(SQLiteError) -> [ExpectedEntry] {
        guard hasExpectedDevices else { return [] }
        let statement = try database.prepare("SELECT " + Self.expectedColumns
            + " FROM server_keys WHERE name >= 'expected:rule:' AND name < 'expected:rule;' ORDER BY name")
        var rules: [ExpectedEntry] = []
        while try statement.step() { rules.append(Self.expectedEntry(from: statement)) }
        return rules
    }

    /// What the phone with this proven MAC, serial and product is expected as (`ExpectedMatch.of`).
    public func expectedMatch(mac: MACAddress, serial: String?, product: String?) throws(SQLiteError) -> ExpectedMatch {
        guard hasExpectedDevices else { return .none }
        do {
            return try ExpectedMatch.of(mac: mac, serial: serial, product: product, byMAC: try expected(key: ExpectedEntry.key(mac: mac)),
                                        bySerial: { () throws(SQLiteError) -> ExpectedEntry? in
                                            guard let serial, !serial.isEmpty else { return nil }
                                            return try self.expected(key: ExpectedEntry.key(serial: serial))
                                        },
                                        rules: { () throws(SQLiteError) -> [ExpectedEntry] in try self.adoptionRules() })
        } catch let error as SQLiteError {
            throw error
        } catch {
            throw SQLiteError(code: 0, message: "\(error)", sql: nil)
        }
    }

    /// An entry from a row of `expectedColumns`.
    package static func expectedEntry(from row: SQLiteStatement) -> ExpectedEntry {
        ExpectedEntry(key: row.text(0) ?? "", serial: row.text(1), model: row.text(2), group: row.text(3),
                      variables: row.text(4) ?? "")
    }
}
