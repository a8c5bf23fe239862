public import Provisioning

extension ExpectedDevices {
    /// What an order list's import came to (or, for a dry run, would): counts, the preview grouped by model and
    /// group, and for a written import its history entries and change set.
    public struct ImportResult: Sendable {
        public var added = 0, changed = 0, unchanged = 0
        public var groups: [(model: String?, group: String?, count: Int)] = []
        public var dryRun = false
        public var history: [Int] = []
        public var changeSet: Int?

        /// What `provctl expect import --json` prints and `POST /api/v1/expected` answers.
        public var json: JSON {
            .object([("ok", .bool(true)), ("action", .string("expect import")), ("result", .string(dryRun ? "dry_run" : "changed")),
                     ("added", .int(added)), ("changed", .int(changed)), ("unchanged", .int(unchanged)),
                     ("groups", .array(groups.map { .object([("model", .text($0.model)), ("group", .text($0.group)), ("count", .int($0.count))]) })),
                     ("history_entries", .int(history.count)), ("change_set", .number(changeSet))])
        }

        /// The preview table and the summary line provctl prints.
        public var text: String {
            var lines = ["\(dryRun ? "would import" : "imported") \(added + changed + unchanged) expected device(s): "
                         + "\(added) added, \(changed) changed, \(unchanged) unchanged" + (dryRun ? " (dry run: nothing written)" : "")]
            if !groups.isEmpty {
                let width = max(5, groups.map { ($0.model ?? "-").count }.max() ?? 0)
                lines.append("  " + "MODEL".padding(width) + "  GROUP")
                for group in groups {
                    lines.append("  " + (group.model ?? "-").padding(width) + "  " + (group.group ?? "-") + ": \(group.count)")
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Imports validated rows (`rows(_:)`): a bad row refuses the whole list (nothing written); a line whose MAC
    /// or serial is already a device's is a problem too. A new entry is added, a known one (same MAC, or same
    /// serial without a MAC) replaced; each written entry is one history entry (`expect add`/`expect edit`), the
    /// whole list one change set. A dry run checks everything and counts, and writes nothing.
    public static func importRows(_ parsed: (rows: [Row], problems: [AdminError.Problem]), file: String,
                                  store: ConfigurationEditor, session: AdminSession, mode: ChangeMode) throws -> ImportResult {
        let rows = parsed.rows
        var problems = parsed.problems
        for row in rows {
            // The profile the phone would be served on its first contact must render (an undefined {{variable}}
            // would be a 500 for it): rendered here with the entry's group, model and variables, as a stand-in
            // for the certificate (a MAC of zeros for an entry without one).
            let entry = row.entry
            let standIn = ClientIdentity.standIn(for: Device(mac: row.mac ?? MACAddress("000000000000")!, serial: row.serial, model: row.model))
            do {
                _ = try entry.document(store: store.store, identity: standIn)
            } catch {
                problems.append(AdminError.Problem(line: row.line, field: "variables",
                                                   rule: "the phone's profile would not render (its first fetch would get 500): \(renderProblem(error))"))
            }
            if let mac = row.mac, let device = try store.device(mac: mac) {
                problems.append(AdminError.Problem(line: row.line, field: "mac", value: device.mac.hex, rule: "\(mac) is already a device"))
            }
            if let serial = row.serial, let device = try store.device(serial: serial) {
                problems.append(AdminError.Problem(line: row.line, field: "serial", value: serial,
                                                   rule: "\(serial) is already the serial of device \(device.mac)"))
            }
        }
        if !problems.isEmpty {
            throw AdminError(.refused, "refused: \(Set(problems.compactMap(\.line)).count) bad row(s) in \(file); nothing written",
                             rule: "every row must pass its column's rule", problems: problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
        }
        try session.warnIfNew("model", Set(rows.compactMap(\.model)), in: store)
        try session.warnIfNew("group", Set(rows.compactMap(\.group)), in: store)
        var result = ImportResult()
        result.dryRun = mode.dryRun
        var counts: [String: Int] = [:]
        for row in rows { counts[(row.model ?? "") + "\u{0}" + (row.group ?? ""), default: 0] += 1 }
        result.groups = counts.sorted { $0.key < $1.key }.map { key, count in
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
            return (parts[0].isEmpty ? nil : parts[0], parts[1].isEmpty ? nil : parts[1], count)
        }
        let secretNames = try secretVariableNames(store)
        func tally(_ write: (Row, ExpectedEntry?) throws -> Void) throws {
            for row in rows {
                let entry = row.entry
                let stored = try store.store.expected(key: entry.key)
                if stored == entry {
                    result.unchanged += 1
                    continue
                }
                if stored == nil { result.added += 1 } else { result.changed += 1 }
                try write(row, stored)
            }
        }
        if mode.dryRun {
            try tally { _, _ in }
            return result
        }
        let outcome = try ChangeEngine(store: store, session: session, mode: mode).run(reach: { .some([]) }) { audit in
            let upsert = try store.database.prepare(upsertSQL)
            try tally { row, stored in
                let entry = row.entry
                upsert.reset()
                try upsert.bind([.text(entry.key), entry.serial.map { .text($0) } ?? .null, entry.model.map { .text($0) } ?? .null,
                                 entry.group.map { .text($0) } ?? .null, .text(entry.variables), .integer(audit.now), .text(audit.who)])
                try upsert.step()
                try audit.record(stored == nil ? "expect add" : "expect edit", target: entry.key,
                                 old: stored.map { describe($0, session: session, secretNames: secretNames) },
                                 new: describe(entry, session: session, secretNames: secretNames))
            }
        }
        if case .written(let ids, let changeSet) = outcome {
            result.history = ids
            result.changeSet = changeSet
        }
        return result
    }

    /// Adds or replaces the row of key ?1 (`ConfigurationStore.expectedRowName`). The value is stored as plain
    /// text (`|| ''` drops json_object's JSON subtype, which the undo trigger would otherwise see, recording the value
    /// as an object where a revert reads back text).
    static let upsertSQL = """
        INSERT INTO server_keys (name, value) VALUES ('expected:' || ?1,
            json_object('serial', ?2, 'model', ?3, 'group', ?4, 'variables', ?5, 'added_at', ?6, 'added_by', ?7) || '')
        ON CONFLICT (name) DO UPDATE SET value = excluded.value
        """
    /// Removes the row of key ?1.
    static let deleteSQL = "DELETE FROM server_keys WHERE name = 'expected:' || ?1"

    /// An entry as the history shows it, secrets masked.
    public static func describe(_ entry: ExpectedEntry, session: AdminSession, secretNames: Set<String>) -> String {
        var parts: [String] = []
        if entry.isRule {
            if let prefix = entry.serial { parts.append("serial_prefix=\(prefix)") }
            if let product = entry.model { parts.append("product=\(product)") }
        } else {
            if let serial = entry.serial { parts.append("serial=\(serial)") }
            if let model = entry.model { parts.append("model=\(model)") }
        }
        if let group = entry.group { parts.append("group=\(group)") }
        var pairs: [(name: String, value: String)] = []
        entry.forEachVariable { name, value in
            pairs.append((name, session.disclosure.shown(variable: name, value: value, secretNames: secretNames)))
        }
        if !pairs.isEmpty { parts.append("variables=" + VariablesCell.format(pairs)) }
        return parts.isEmpty ? entry.key : parts.joined(separator: " ")
    }

    /// The entry (not a rule) an admin names: a MAC in any spelling, `mac:…`/`serial:…` as listed, or a serial.
    public static func key(naming id: String) -> String {
        if let mac = MACAddress(id) { return ExpectedEntry.key(mac: mac) }
        if id.hasPrefix("mac:"), let mac = MACAddress(String(id.dropFirst(4))) { return ExpectedEntry.key(mac: mac) }
        if id.hasPrefix("serial:") { return ExpectedEntry.key(serial: String(id.dropFirst(7))) }
        return ExpectedEntry.key(serial: id)
    }

    /// One entry as listed (`provctl expect list --json`, `GET /api/v1/expected`), secrets masked per the session.
    public static func json(_ entry: ExpectedEntry, addedAt: Int, addedBy: String, session: AdminSession,
                            secretNames: Set<String>) -> JSON {
        var variables: [(String, JSON)] = []
        entry.forEachVariable { name, value in
            variables.append((name, .string(session.disclosure.shown(variable: name, value: value, secretNames: secretNames))))
        }
        return .object([("id", .string(entry.key)), ("mac", .text(entry.mac?.hex)), ("serial", .text(entry.serial)),
                        ("model", .text(entry.model)), ("group", .text(entry.group)), ("variables", .object(variables)),
                        ("added_at", .string(utcTimestamp(addedAt))), ("added_by", .string(addedBy))])
    }

    /// A page of entries (rules left out) after the entry `after` (its id), in id order, and the id to ask the
    /// next page after (nil at the end).
    public static func page(_ store: ConfigurationEditor, after: String?, limit: Int, session: AdminSession) throws -> (items: [JSON], next: String?) {
        let statement = try store.database.prepare("SELECT " + ConfigurationStore.expectedColumns + """
             FROM server_keys WHERE name > 'expected:' || ?1 AND name < 'expected;' AND name NOT LIKE 'expected:rule:%'
            ORDER BY name LIMIT ?2
            """)
        try statement.bind([.text(after ?? ""), .integer(limit + 1)])
        let secretNames = try secretVariableNames(store)
        var items: [JSON] = [], keys: [String] = []
        while try statement.step() {
            let entry = ConfigurationStore.expectedEntry(from: statement)
            keys.append(entry.key)
            items.append(json(entry, addedAt: statement.int(5), addedBy: statement.text(6) ?? "", session: session, secretNames: secretNames))
        }
        guard items.count > limit else { return (items, nil) }
        return (Array(items.prefix(limit)), keys[limit - 1])
    }

    /// One entry as listed, or nil.
    public static func entryJSON(_ store: ConfigurationEditor, key: String, session: AdminSession) throws -> JSON? {
        guard !key.hasPrefix("rule:") else { return nil }
        let statement = try store.database.prepare("SELECT " + ConfigurationStore.expectedColumns + " FROM server_keys WHERE name = ?1")
        try statement.bind(1, ConfigurationStore.expectedRowName(key))
        guard try statement.step() else { return nil }
        return json(ConfigurationStore.expectedEntry(from: statement), addedAt: statement.int(5), addedBy: statement.text(6) ?? "",
                    session: session, secretNames: try secretVariableNames(store))
    }

    /// Removes entries or rules by key (`key(naming:)`, `ExpectedEntry.key(rule:)`): each a history entry
    /// (`expect remove`); a key with no row is `.notFound` and nothing is removed.
    public static func remove(keys: [String], store: ConfigurationEditor, session: AdminSession, mode: ChangeMode) throws -> Edited<EditSummary> {
        let secretNames = try secretVariableNames(store)
        let outcome = try ChangeEngine(store: store, session: session, mode: mode).run(reach: { .some([]) }) { audit in
            let delete = try store.database.prepare(deleteSQL)
            for key in keys {
                guard let stored = try store.store.expected(key: key) else {
                    throw AdminError(.notFound, "\(key) is no expected device or rule", field: "id", rule: "an entry listed by provctl expect list")
                }
                delete.reset()
                try delete.bind(1, key)
                try delete.step()
                try audit.record("expect remove", target: key, old: describe(stored, session: session, secretNames: secretNames), new: nil)
            }
        }
        switch outcome {
        case .dryRun(let report): return .dryRun(report)
        case .written(let ids, let changeSet):
            return .written(EditSummary(action: "expect remove", message: "removed \(keys.count) expected entr\(keys.count == 1 ? "y" : "ies")",
                                        count: keys.count, fields: [("ids", .array(keys.map(JSON.string)))], history: ids, changeSet: changeSet))
        }
    }

    /// Adds an adoption rule (tried after every rule before it): a certificate whose serial starts with
    /// `serialPrefix` and whose product is `product` (either may be nil, not both) joins `group`.
    public static func addRule(serialPrefix: String?, product: String?, group: String, store: ConfigurationEditor,
                               session: AdminSession, mode: ChangeMode) throws -> Edited<EditSummary> {
        guard serialPrefix != nil || product != nil else {
            throw AdminError(.usage, "a rule needs --serial-prefix or --product (or both)", field: "--serial-prefix",
                             rule: "a serial prefix or a product")
        }
        try DeviceEditor.checkFields([("serial", "--serial-prefix", serialPrefix), ("model", "--product", product), ("group", "--group", group)])
        try session.warnIfNew("group", [group], in: store)
        var key = ""
        let outcome = try ChangeEngine(store: store, session: session, mode: mode).run(reach: { .some([]) }) { audit in
            let last = try store.store.adoptionRules().last.flatMap { Int($0.key.dropFirst(5)) } ?? 0
            let rule = ExpectedEntry(key: ExpectedEntry.key(rule: last + 1), serial: serialPrefix, model: product, group: group)
            key = rule.key
            let upsert = try store.database.prepare(upsertSQL)
            try upsert.bind([.text(rule.key), serialPrefix.map { .text($0) } ?? .null, product.map { .text($0) } ?? .null,
                             .text(group), .text(""), .integer(audit.now), .text(audit.who)])
            try upsert.step()
            try audit.record("expect rule add", target: rule.key, old: nil, new: describe(rule, session: session, secretNames: []))
        }
        switch outcome {
        case .dryRun(let report): return .dryRun(report)
        case .written(let ids, let changeSet):
            return .written(EditSummary(action: "expect rule add", message: "added \(key)", count: 1,
                                        fields: [("id", .string(key))], history: ids, changeSet: changeSet))
        }
    }

    /// The adoption rules as listed (`provctl expect rules --json`).
    public static func rulesJSON(_ store: ConfigurationEditor) throws -> JSON {
        .array(try store.store.adoptionRules().map { rule in
            .object([("id", .string(rule.key)), ("serial_prefix", .text(rule.serial)), ("product", .text(rule.model)),
                     ("group", .text(rule.group))])
        })
    }
}

private extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
