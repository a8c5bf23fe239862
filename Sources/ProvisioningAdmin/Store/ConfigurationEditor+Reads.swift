public import Provisioning
/// What `provctl device list` filters on; `nil` fields do not filter.
public struct DeviceFilter: Sendable, Equatable {
    public var group: String?
    /// Only the devices without a group (the admin API's `group=none`).
    public var withoutGroup = false
    public var model: String?
    public var enabled: Bool?
    /// True: only devices that fetched a profile (a `seen` row); false: only those that never did.
    public var seen: Bool?
    /// Only devices whose last fetch reported this firmware (the `seen` row's).
    public var firmware: String?
    /// A substring (case-insensitive for ASCII) of the MAC (any spelling), serial, account user or group.
    public var search: String?
    /// A page: only MACs after this one (the last of the previous page), at most `limit` devices. The query walks
    /// the primary key (or the group's or model's index, which holds the MAC after the name), so a page costs
    /// the same at any depth of a fleet of any size.
    public var after: MACAddress?
    public var limit: Int?

    public init(group: String? = nil, model: String? = nil, enabled: Bool? = nil, seen: Bool? = nil,
                firmware: String? = nil, search: String? = nil, after: MACAddress? = nil, limit: Int? = nil) {
        self.group = group
        self.model = model
        self.enabled = enabled
        self.seen = seen
        self.firmware = firmware
        self.search = search
        self.after = after
        self.limit = limit
    }
}

/// A phone that called with a valid certificate but has no device row (from the journals).
public struct Claim: Sendable, Equatable {
    public var mac: MACAddress
    public var serial: String?
    public var model: String?
    public var remoteAddress: String?
    public var userAgent: String?
    /// Unix seconds.
    public var firstSeen: Int
    /// Unix seconds.
    public var lastSeen: Int
    public var count: Int
    /// The node whose journal saw it last.
    public var node: String?

    public init(mac: MACAddress, serial: String?, model: String?, remoteAddress: String?, userAgent: String?,
                firstSeen: Int, lastSeen: Int, count: Int, node: String? = nil) {
        self.mac = mac
        self.serial = serial
        self.model = model
        self.remoteAddress = remoteAddress
        self.userAgent = userAgent
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.count = count
        self.node = node
    }
}

/// A device's last profile fetch, as the CGI records it in `seen`.
public struct SeenRecord: Sendable, Equatable {
    /// Unix seconds.
    public var firstSeen: Int
    /// Unix seconds.
    public var lastSeen: Int
    public var remoteAddress: String?
    public var firmware: String?
    public var count: Int
}

/// One row of the audit log. Values were masked when the row was written.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int
    /// Unix seconds.
    public var at: Int
    public var who: String
    public var action: String
    public var target: String?
    public var oldValue: String?
    public var newValue: String?
    /// The entry has its rows in the undo log: `provctl revert` can undo it.
    public var revertible = false
}

/// One change set: what one provctl command wrote (schema 9), as `provctl history` lists it.
public struct ChangeSetSummary: Sendable, Equatable {
    /// The set's ID: its first entry's id (what `provctl revert` takes).
    public var id: Int
    public var at: Int
    public var who: String
    public var entries: Int
    public var actions: [String]
    public var targets: Int
    /// The first target (the only one when `targets` is 1).
    public var target: String?
    public var revertible: Bool
    /// A one-entry set's values.
    public var oldValue: String?
    public var newValue: String?
}

/// What `provctl history` shows; `nil` fields do not filter.
public struct AuditFilter: Sendable, Equatable {
    /// Only the entries of this change set.
    public var changeSet: Int?
    /// The entries about this device: its row and its device scope.
    public var mac: MACAddress?
    /// The entries about this scope's settings and variables (for a device scope, the device too).
    public var scope: Scope?
    public var who: String?
    /// Unix seconds, inclusive and exclusive.
    public var since: Int?
    public var until: Int?
    /// Only change sets older than this one (a page's start: the last ID of the page before).
    public var before: Int?
    public var limit: Int

    public init(mac: MACAddress? = nil, scope: Scope? = nil, who: String? = nil, since: Int? = nil, until: Int? = nil,
                limit: Int = 100) {
        self.mac = mac
        self.scope = scope
        self.who = who
        self.since = since
        self.until = until
        self.limit = limit
    }
}

/// A MAC that cannot take a device's place.
public struct ReplaceError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

extension ConfigurationEditor {
    // MARK: Devices

    /// The devices `filter` selects, ordered by MAC, each with its `seen` row if it has one.
    public func devices(matching filter: DeviceFilter) throws(SQLiteError) -> [(device: Device, seen: SeenRecord?)] {
        let columns = ConfigurationStore.deviceColumns.split(separator: ",").map { "d." + String($0).trimmingSpaces }.joined(separator: ", ")
        var sql = """
            SELECT \(columns), s.first_seen, s.last_seen, s.remote_addr, s.firmware, s.count, s.mac IS NOT NULL
            FROM devices d LEFT JOIN seen s ON s.mac = d.mac WHERE 1
            """
        var values: [SQLiteValue] = []
        if filter.withoutGroup { sql += " AND d.group_name IS NULL" }
        if let group = filter.group {
            values.append(.text(group))
            sql += " AND d.group_name = ?\(values.count)"
        }
        if let model = filter.model {
            values.append(.text(model))
            sql += " AND d.model = ?\(values.count)"
        }
        if let enabled = filter.enabled { sql += enabled ? " AND d.enabled = 1" : " AND d.enabled = 0" }
        if let seen = filter.seen { sql += seen ? " AND s.mac IS NOT NULL" : " AND s.mac IS NULL" }
        if let firmware = filter.firmware {
            values.append(.text(firmware))
            sql += " AND s.firmware = ?\(values.count)"
        }
        if let search = filter.search {
            // LIKE with its wildcards escaped: the text is searched for as written.
            let escaped = search.replacing("\\", with: "\\\\").replacing("%", with: "\\%").replacing("_", with: "\\_")
            values.append(.text("%" + escaped + "%"))
            let text = values.count
            // The MAC as stored (12 lower-case hex digits): searched for when the text could be part of one.
            let hex = String(search.lowercased().filter { $0.isHexDigit })
            var macTerm = ""
            if !hex.isEmpty, search.allSatisfy({ $0.isHexDigit || ":-.".contains($0) }) {
                values.append(.text("%" + hex + "%"))
                macTerm = "d.mac LIKE ?\(values.count) OR "
            }
            sql += " AND (\(macTerm)d.serial LIKE ?\(text) ESCAPE '\\' OR d.account_user LIKE ?\(text) ESCAPE '\\'"
                + " OR d.group_name LIKE ?\(text) ESCAPE '\\')"
        }
        if let after = filter.after {
            values.append(.text(after.hex))
            sql += " AND d.mac > ?\(values.count)"
        }
        sql += " ORDER BY d.mac"
        if let limit = filter.limit {
            values.append(.integer(limit))
            sql += " LIMIT ?\(values.count)"
        }
        let statement = try database.prepare(sql)
        try statement.bind(values)
        var rows: [(Device, SeenRecord?)] = []
        // The seen columns follow the device's, however many those are.
        let s = Int32(ConfigurationStore.DeviceColumn.allCases.count)
        while try statement.step() {
            let device = try ConfigurationStore.device(from: statement)
            let seen = statement.int(s + 5) != 0
                ? SeenRecord(firstSeen: statement.int(s), lastSeen: statement.int(s + 1), remoteAddress: statement.text(s + 2),
                             firmware: statement.text(s + 3), count: statement.int(s + 4))
                : nil
            rows.append((device, seen))
        }
        return rows
    }

    /// Removes a device with its device-scope settings and variables; false when there is no such device. What
    /// the journals recorded of it stays there as history.
    @discardableResult
    public func removeDevice(mac: MACAddress) throws(SQLiteError) -> Bool {
        let statement = try database.prepare("DELETE FROM devices WHERE mac = ?1")
        try statement.bind(1, mac.hex)
        try statement.step()
        guard database.changes > 0 else { return false }
        for sql in ["DELETE FROM settings WHERE scope = 'device' AND target = ?1",
                    "DELETE FROM variables WHERE scope = 'device' AND target = ?1"] {
            let cleanup = try database.prepare(sql)
            try cleanup.bind(1, mac.hex)
            try cleanup.step()
        }
        return true
    }

    /// A hardware swap: the device row of `old` becomes `new`'s, with its device-scope settings and variables.
    /// The old MAC's journal rows stay as history (the new phone has not fetched anything yet); the caller
    /// leaves the claim of `new` to `claims`, which lists no device. `serial` replaces the stored serial (`.some(nil)` clears it). Run it inside a transaction.
    public func replaceMAC(_ old: MACAddress, with new: MACAddress, serial: String??) throws -> Device {
        guard var device = try device(mac: old) else { throw ReplaceError(description: "\(old) is not a device") }
        if try self.device(mac: new) != nil { throw ReplaceError(description: "\(new) is already a device") }
        for table in ["settings", "variables"] {
            let count = try database.prepare("SELECT count(*) FROM \(table) WHERE scope = 'device' AND target = ?1")
            try count.bind(1, new.hex)
            if try count.step(), count.int(0) > 0 {
                throw ReplaceError(description: "device:\(new) already has \(count.int(0)) \(table); unset them first")
            }
        }
        let copy = try database.prepare("""
            INSERT INTO devices (mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, created_at)
            SELECT ?2, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, created_at
            FROM devices WHERE mac = ?1
            """)
        try copy.bind([.text(old.hex), .text(new.hex)])
        try copy.step()
        let steps: [(String, [SQLiteValue])] = [
            ("UPDATE settings SET target = ?2 WHERE scope = 'device' AND target = ?1", [.text(old.hex), .text(new.hex)]),
            ("UPDATE variables SET target = ?2 WHERE scope = 'device' AND target = ?1", [.text(old.hex), .text(new.hex)]),
            ("DELETE FROM devices WHERE mac = ?1", [.text(old.hex)]),
        ]
        for (sql, values) in steps {
            let statement = try database.prepare(sql)
            try statement.bind(values)
            try statement.step()
        }
        device.mac = new
        if let serial { device.serial = serial }
        try update(device)
        return device
    }

    /// The MACs of the devices a scope reaches by their stored fields; `nil` for the default scope (every
    /// device). A device without a stored model takes its model scope from its certificate, so the model scope
    /// reaches it only when it calls.
    public func macs(reachedBy scope: Scope) throws(SQLiteError) -> [MACAddress]? {
        let statement: SQLiteStatement
        switch scope {
        case .all: return nil
        case .device(let mac): return [mac]
        case .model(let model):
            statement = try database.prepare("SELECT mac FROM devices WHERE model = ?1 ORDER BY mac")
            try statement.bind(1, model)
        case .group(let group):
            statement = try database.prepare("SELECT mac FROM devices WHERE group_name = ?1 ORDER BY mac")
            try statement.bind(1, group)
        }
        var macs: [MACAddress] = []
        while try statement.step() { if let mac = statement.text(0).flatMap({ MACAddress($0) }) { macs.append(mac) } }
        return macs
    }

    /// The number of devices.
    public func deviceCount() throws(SQLiteError) -> Int {
        let statement = try database.prepare("SELECT count(*) FROM devices")
        return try statement.step() ? statement.int(0) : 0
    }

    // MARK: Settings and variables

    /// The setting `name` at `scope`, if stored.
    public func setting(scope: Scope, name: String, partition: String = "") throws(SQLiteError) -> Setting? {
        let statement = try database.prepare("SELECT value, ua, intent FROM settings WHERE scope = ?1 AND target = ?2 AND part = ?4 AND name = ?3")
        try statement.bind([.text(scope.kind), .text(scope.target), .text(name), .text(partition)])
        guard try statement.step() else { return nil }
        return Setting(scope: scope, name: name, value: statement.text(0) ?? "",
                       access: statement.text(1).flatMap { UserAccess(rawValue: $0) }, partition: partition,
                       intent: EmptyIntent(column: statement.text(2)))
    }

    /// The variable `name` at `scope`, if stored.
    public func variable(scope: Scope, name: String) throws(SQLiteError) -> Variable? {
        let statement = try database.prepare("SELECT value FROM variables WHERE scope = ?1 AND target = ?2 AND name = ?3")
        try statement.bind([.text(scope.kind), .text(scope.target), .text(name)])
        guard try statement.step() else { return nil }
        return Variable(scope: scope, name: name, value: statement.text(0) ?? "")
    }

    /// Removes a setting; false when it was not stored.
    @discardableResult
    public func removeSetting(scope: Scope, name: String, partition: String = "") throws(SQLiteError) -> Bool {
        let statement = try database.prepare("DELETE FROM settings WHERE scope = ?1 AND target = ?2 AND part = ?4 AND name = ?3")
        try statement.bind([.text(scope.kind), .text(scope.target), .text(name), .text(partition)])
        try statement.step()
        return database.changes > 0
    }

    /// Removes a variable; false when it was not stored.
    @discardableResult
    public func removeVariable(scope: Scope, name: String) throws(SQLiteError) -> Bool {
        let statement = try database.prepare("DELETE FROM variables WHERE scope = ?1 AND target = ?2 AND name = ?3")
        try statement.bind([.text(scope.kind), .text(scope.target), .text(name)])
        try statement.step()
        return database.changes > 0
    }

    /// The settings at `scope`, or at every scope when `nil`: default, models, groups, devices, then by name.
    public func settings(at scope: Scope? = nil) throws(SQLiteError) -> [Setting] {
        let statement = try database.prepare(scopeQuery("SELECT scope, target, name, value, ua, part, intent FROM settings", scope))
        try bindScope(scope, to: statement)
        var settings: [Setting] = []
        while try statement.step() {
            guard let found = Scope(kind: statement.text(0) ?? "", target: statement.text(1) ?? "") else { continue }
            settings.append(Setting(scope: found, name: statement.text(2) ?? "", value: statement.text(3) ?? "",
                                    access: statement.text(4).flatMap { UserAccess(rawValue: $0) },
                                    partition: statement.text(5) ?? "", intent: EmptyIntent(column: statement.text(6))))
        }
        return settings
    }

    /// The variables at `scope`, or at every scope when `nil`, in the order `settings(at:)` uses.
    public func variables(at scope: Scope? = nil) throws(SQLiteError) -> [Variable] {
        let statement = try database.prepare(scopeQuery("SELECT scope, target, name, value FROM variables", scope))
        try bindScope(scope, to: statement)
        var variables: [Variable] = []
        while try statement.step() {
            guard let found = Scope(kind: statement.text(0) ?? "", target: statement.text(1) ?? "") else { continue }
            variables.append(Variable(scope: found, name: statement.text(2) ?? "", value: statement.text(3) ?? ""))
        }
        return variables
    }

    func scopeQuery(_ select: String, _ scope: Scope?) -> String {
        let order = " ORDER BY CASE scope WHEN 'default' THEN 0 WHEN 'model' THEN 1 WHEN 'group' THEN 2 ELSE 3 END, target, name"
        return select + (scope == nil ? "" : " WHERE scope = ?1 AND target = ?2") + order
    }

    func bindScope(_ scope: Scope?, to statement: SQLiteStatement) throws(SQLiteError) {
        if let scope { try statement.bind([.text(scope.kind), .text(scope.target)]) }
    }

    // MARK: Audit

    /// The audit log, newest first: every row, or those about `mac` (its device row and its device scope).
    public func auditEntries(mac: MACAddress? = nil, limit: Int = 100) throws(SQLiteError) -> [AuditEntry] {
        try auditEntries(AuditFilter(mac: mac, limit: limit))
    }

    /// The audit entries `filter` selects, newest first.
    public func auditEntries(_ filter: AuditFilter) throws(SQLiteError) -> [AuditEntry] {
        var (sql, values) = Self.auditCondition(filter, select: """
            SELECT id, at, who, action, target, old_value, new_value,
                first_change IS NOT NULL FROM audit WHERE 1
            """)
        values.append(.integer(filter.limit))
        sql += " ORDER BY id DESC LIMIT ?\(values.count)"
        let statement = try database.prepare(sql)
        try statement.bind(values)
        var entries: [AuditEntry] = []
        while try statement.step() {
            entries.append(AuditEntry(id: statement.int(0), at: statement.int(1), who: statement.text(2) ?? "",
                                      action: statement.text(3) ?? "", target: statement.text(4),
                                      oldValue: statement.text(5), newValue: statement.text(6),
                                      revertible: statement.int(7) != 0))
        }
        return entries
    }

    /// The change sets (schema 9: one per provctl command) with an entry `filter` selects, newest first: the
    /// set's ID, its first entry's time and user, how many entries it has (of those selected), their actions
    /// and targets; a set of one entry carries that entry's old and new values.
    public func changeSets(_ filter: AuditFilter) throws(SQLiteError) -> [ChangeSetSummary] {
        var (sql, values) = Self.auditCondition(filter, select: """
            SELECT coalesce(change_set, id) AS s, min(at), min(who), count(*), group_concat(DISTINCT action),
                count(DISTINCT target), min(target), max(first_change IS NOT NULL),
                CASE WHEN count(*) = 1 THEN min(old_value) END, CASE WHEN count(*) = 1 THEN min(new_value) END
            FROM audit WHERE 1
            """)
        values.append(.integer(filter.limit))
        sql += " GROUP BY s ORDER BY s DESC LIMIT ?\(values.count)"
        let statement = try database.prepare(sql)
        try statement.bind(values)
        var sets: [ChangeSetSummary] = []
        while try statement.step() {
            let actions = (statement.text(4) ?? "").split(separator: ",").map(String.init)
            sets.append(ChangeSetSummary(id: statement.int(0), at: statement.int(1), who: statement.text(2) ?? "",
                                         entries: statement.int(3), actions: actions, targets: statement.int(5),
                                         target: statement.text(6), revertible: statement.int(7) != 0,
                                         oldValue: statement.text(8), newValue: statement.text(9)))
        }
        return sets
    }

    /// The WHERE clause `filter` makes, appended to `select`, with its values.
    static func auditCondition(_ filter: AuditFilter, select: String) -> (String, [SQLiteValue]) {
        var sql = select
        var values: [SQLiteValue] = []
        func about(_ target: String) {
            values.append(.text(target))
            sql += " AND (target = ?\(values.count) OR substr(target, 1, length(?\(values.count)) + 1) = ?\(values.count) || ' '"
        }
        if let mac = filter.mac {
            about("device:" + mac.hex)
            values.append(.text(mac.hex))
            sql += " OR target = ?\(values.count))"
        }
        if let scope = filter.scope {
            about(scope.description)
            if case .device(let mac) = scope {
                values.append(.text(mac.hex))
                sql += " OR target = ?\(values.count)"
            }
            sql += ")"
        }
        if let who = filter.who {
            values.append(.text(who))
            sql += " AND who = ?\(values.count)"
        }
        if let since = filter.since {
            values.append(.integer(since))
            sql += " AND at >= ?\(values.count)"
        }
        if let until = filter.until {
            values.append(.integer(until))
            sql += " AND at < ?\(values.count)"
        }
        if let set = filter.changeSet {
            values.append(.integer(set))
            sql += " AND coalesce(change_set, id) = ?\(values.count)"
        }
        if let before = filter.before {
            values.append(.integer(before))
            sql += " AND coalesce(change_set, id) < ?\(values.count)"
        }
        return (sql, values)
    }
}

/// What the journals say of devices and of MACs that are none (their views; see `JournalReader`).
extension JournalReader {
    /// The `seen` row of `mac`, if the device ever fetched a profile.
    public func seen(mac: MACAddress) throws(SQLiteError) -> SeenRecord? {
        let statement = try database.prepare("SELECT first_seen, last_seen, remote_addr, firmware, count FROM seen WHERE mac = ?1")
        try statement.bind(1, mac.hex)
        guard try statement.step() else { return nil }
        return SeenRecord(firstSeen: statement.int(0), lastSeen: statement.int(1), remoteAddress: statement.text(2),
                          firmware: statement.text(3), count: statement.int(4))
    }

    // MARK: Claims

    /// The claim of `mac`, if a phone with that MAC called without a device row.
    public func claim(mac: MACAddress) throws(SQLiteError) -> Claim? {
        try claims().first { $0.mac == mac }
    }

    /// Whether `mac` had a claim that its new device row settles. The journal keeps the row as history; `claims`
    /// lists only MACs that are no device.
    @discardableResult
    public func settlesClaim(mac: MACAddress) throws(SQLiteError) -> Bool {
        let statement = try database.prepare("SELECT count(*) FROM claims WHERE mac = ?1")
        try statement.bind(1, mac.hex)
        return try statement.step() && statement.int(0) > 0
    }

    /// Every claim over the fleet's journals of a MAC that is no device, most recent first.
    public func claims() throws(SQLiteError) -> [Claim] {
        let statement = try database.prepare("""
            SELECT mac, serial, model, remote_addr, user_agent, first_seen, last_seen, count, node
            FROM claims WHERE mac NOT IN (SELECT mac FROM main.devices) ORDER BY last_seen DESC, mac
            """)
        var claims: [Claim] = []
        while try statement.step() {
            guard let mac = statement.text(0).flatMap({ MACAddress($0) }) else { continue }
            claims.append(Claim(mac: mac, serial: statement.text(1), model: statement.text(2),
                                remoteAddress: statement.text(3), userAgent: statement.text(4),
                                firstSeen: statement.int(5), lastSeen: statement.int(6), count: statement.int(7),
                                node: statement.text(8)))
        }
        return claims
    }
}
