#if canImport(Glibc)
import Glibc
#endif

/// The SQLite file: devices, settings and variables of each scope, claims and the audit log.
///
/// The CGI opens it read-only; `provctl` opens it read-write and upgrades it with numbered migrations
/// (`PRAGMA user_version`). The file is an ordinary SQLite database an admin can open with `sqlite3`.
public final class DeviceStore {
    /// The connection; `provctl` runs its own statements and transactions on it.
    public let database: SQLiteDatabase
    /// The schema version the file had when it was opened (0 for a new file), before any migration ran.
    public private(set) var versionAtOpen = 0

    /// Where the CGI and `provctl` look when `PROVISIONER_DB` is not set.
    public static let defaultPath = "/var/lib/provisioner/provisioner.db"

    /// The migrations, in order; migration `n` (1-based) takes `user_version` from n-1 to n.
    static let migrations: [String] = [
        """
        CREATE TABLE devices (
            mac TEXT NOT NULL PRIMARY KEY CHECK (length(mac) = 12 AND mac NOT GLOB '*[^0-9a-f]*'),
            serial TEXT,
            model TEXT,
            group_name TEXT,
            enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
            gzip INTEGER NOT NULL DEFAULT 0 CHECK (gzip IN (0, 1)),
            encryption TEXT NOT NULL DEFAULT 'none' CHECK (encryption IN ('none', 'aes-256-cbc')),
            encryption_key TEXT,
            kdf_digest TEXT NOT NULL DEFAULT 'sha256' CHECK (kdf_digest IN ('md5', 'sha256')),
            created_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
            updated_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
            CHECK (encryption = 'none' OR length(encryption_key) > 0)
        ) WITHOUT ROWID;
        CREATE INDEX devices_by_group ON devices (group_name);
        CREATE INDEX devices_by_model ON devices (model);
        CREATE TABLE settings (
            scope TEXT NOT NULL CHECK (scope IN ('default', 'model', 'group', 'device')),
            target TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            ua TEXT CHECK (ua IS NULL OR ua IN ('na', 'ro', 'rw')),
            PRIMARY KEY (scope, target, name)
        ) WITHOUT ROWID;
        CREATE TABLE variables (
            scope TEXT NOT NULL CHECK (scope IN ('default', 'model', 'group', 'device')),
            target TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (scope, target, name)
        ) WITHOUT ROWID;
        CREATE TABLE claims (
            mac TEXT NOT NULL PRIMARY KEY,
            serial TEXT,
            model TEXT,
            remote_addr TEXT,
            user_agent TEXT,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            count INTEGER NOT NULL DEFAULT 1
        ) WITHOUT ROWID;
        CREATE TABLE seen (
            mac TEXT NOT NULL PRIMARY KEY,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            remote_addr TEXT,
            firmware TEXT,
            count INTEGER NOT NULL DEFAULT 1
        ) WITHOUT ROWID;
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            who TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            old_value TEXT,
            new_value TEXT
        );
        CREATE INDEX audit_by_target ON audit (target);
        """,
    ]

    /// The schema version this build reads and writes.
    public static var schemaVersion: Int { migrations.count }

    /// Opens the file. Read-only (the CGI) checks the schema version; read-write and create run any pending
    /// migrations and switch the file to WAL mode.
    public init(path: String, mode: SQLiteDatabase.Mode) throws(SQLiteError) {
        database = try SQLiteDatabase(path: path, mode: mode)
        versionAtOpen = try database.userVersion()
        if mode == .readOnly {
            try Self.checkVersion(versionAtOpen)
        } else {
            try database.execute("PRAGMA foreign_keys = ON")
            try migrate()
        }
    }

    /// Opens the file for the CGI: read-only, or read-write when it will record `seen` rows and claims. Never
    /// creates the file and never migrates it: a missing file or a schema of another version is an error.
    public init(serving path: String, writable: Bool) throws(SQLiteError) {
        database = try SQLiteDatabase(path: path, mode: writable ? .readWrite : .readOnly, busyTimeout: 2000)
        versionAtOpen = try database.userVersion()
        try Self.checkVersion(versionAtOpen)
    }

    static func checkVersion(_ version: Int) throws(SQLiteError) {
        guard version == schemaVersion else {
            throw SQLiteError(code: 0, message: version < schemaVersion
                ? "schema version \(version), this build needs \(schemaVersion): run `provctl init`"
                : "schema version \(version) is newer than this build (\(schemaVersion))", sql: nil)
        }
    }

    /// Runs the migrations the file has not had yet, each in its own transaction, and sets WAL mode.
    /// Returns the version before and after.
    @discardableResult
    public func migrate() throws(SQLiteError) -> (from: Int, to: Int) {
        let from = try database.userVersion()
        guard from <= Self.schemaVersion else {
            throw SQLiteError(code: 0, message: "schema version \(from) is newer than this build (\(Self.schemaVersion))", sql: nil)
        }
        if from < Self.schemaVersion {
            try database.execute("PRAGMA journal_mode = WAL")
            for version in (from + 1)...Self.schemaVersion {
                try database.execute("BEGIN IMMEDIATE")
                do {
                    try database.execute(Self.migrations[version - 1])
                    try database.execute("PRAGMA user_version = \(version)")
                    try database.execute("COMMIT")
                } catch {
                    try? database.execute("ROLLBACK")
                    throw error
                }
            }
        }
        return (from, Self.schemaVersion)
    }

    // MARK: Reading (the CGI's path)

    static let deviceColumns = "mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest"

    /// The device with this MAC, or `nil`.
    public func device(mac: MACAddress) throws(SQLiteError) -> Device? {
        let statement = try database.prepare(Self.deviceQuery)
        try statement.bind(1, mac.hex)
        return try statement.step() ? Self.device(from: statement) : nil
    }

    /// `SELECT deviceColumns FROM devices WHERE mac = ?1`, spelled out: the CGI's queries are literals, because a
    /// string built at run time grows through reallocations, and the first string storage freed makes the Swift
    /// runtime instantiate metadata (about 35k instructions). A test checks the spelling against the parts.
    static let deviceQuery = "SELECT mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest FROM devices WHERE mac = ?1"

    /// A device from a row of `deviceColumns`.
    static func device(from row: SQLiteStatement) throws(SQLiteError) -> Device {
        guard let mac = row.text(0).flatMap({ MACAddress($0) }) else {
            throw SQLiteError(code: 0, message: "a device row has a malformed MAC", sql: nil)
        }
        var encryption = Encryption.none
        if row.text(6) == "aes-256-cbc", let key = row.text(7) {
            encryption = .aes256cbc(key: key, digest: KeyDerivationDigest(rawValue: row.text(8) ?? "") ?? .sha256)
        }
        return Device(mac: mac, serial: row.text(1), model: row.text(2), group: row.text(3),
                      enabled: row.int(4) != 0, gzip: row.int(5) != 0, encryption: encryption)
    }

    /// The settings and variables of the default scope, `model`'s, `group`'s and `mac`'s, in one query that walks
    /// the primary-key index once per scope and table.
    public func layers(model: String?, group: String?, mac: MACAddress) throws(SQLiteError) -> Layers {
        let statement = try database.prepare(Self.layersQuery(where: Self.allFourScopes))
        try statement.bind(1, model)
        try statement.bind(2, group)
        try statement.bind(3, mac.hex)
        var layers = Layers()
        try Self.readLayers(statement, model: model, group: group, mac: mac, into: &layers)
        return layers
    }

    /// The same rows as `layers`, read straight into the merge's byte form: the CGI's path.
    public func layerRows(model: String?, group: String?, mac: MACAddress) throws(SQLiteError) -> LayerRows {
        let statement = try database.prepare(Self.allFourScopesQuery)
        try statement.bind(1, model)
        try statement.bind(2, group)
        try statement.bind(3, mac.hex)
        var rows = LayerRows(model: model, group: group, mac: mac)
        while try statement.step() {
            let rank = statement.int(1)
            guard rank >= 0 && rank < 4 else { continue }
            rows.appendRow(of: statement, kind: statement.int(0) == 0 ? 0 : 1, rank: rank)
        }
        return rows
    }

    /// The rows of `settings` and `variables` that `condition` selects, as (table, scope rank, name, value, ua):
    /// 0 for settings, 1 for variables. One OR per table lets SQLite answer with a multi-index OR over the primary
    /// key, and parsing two short SELECTs costs far less than eight (the parse is a good part of a CGI request).
    /// No ORDER BY: SQLite's sorter cost more (0.23M instructions) than the merge in ResolvedSettings, which finds
    /// each scope's rows already in primary-key order. `provctl` prepares it once for many devices.
    static func layersQuery(where condition: String) -> String {
        """
        SELECT 0, CASE scope WHEN 'default' THEN 0 WHEN 'model' THEN 1 WHEN 'group' THEN 2 ELSE 3 END, name, value, ua
        FROM settings WHERE \(condition)
        UNION ALL
        SELECT 1, CASE scope WHEN 'default' THEN 0 WHEN 'model' THEN 1 WHEN 'group' THEN 2 ELSE 3 END, name, value, NULL
        FROM variables WHERE \(condition)
        """
    }

    /// `layersQuery(where: allFourScopes)` spelled out, for the CGI (see `deviceQuery`).
    static let allFourScopesQuery = """
        SELECT 0, CASE scope WHEN 'default' THEN 0 WHEN 'model' THEN 1 WHEN 'group' THEN 2 ELSE 3 END, name, value, ua
        FROM settings WHERE (scope = 'default' AND target = '') OR (scope = 'model' AND target = ?1) OR (scope = 'group' AND target = ?2) OR (scope = 'device' AND target = ?3)
        UNION ALL
        SELECT 1, CASE scope WHEN 'default' THEN 0 WHEN 'model' THEN 1 WHEN 'group' THEN 2 ELSE 3 END, name, value, NULL
        FROM variables WHERE (scope = 'default' AND target = '') OR (scope = 'model' AND target = ?1) OR (scope = 'group' AND target = ?2) OR (scope = 'device' AND target = ?3)
        """

    /// The four scopes of one device: ?1 its model, ?2 its group, ?3 its MAC.
    static let allFourScopes = """
        (scope = 'default' AND target = '') OR (scope = 'model' AND target = ?1) OR (scope = 'group' AND target = ?2) \
        OR (scope = 'device' AND target = ?3)
        """

    /// Appends the rows of a `layersQuery`. Only the four scopes of this device can match, so each row's scope is
    /// picked by its rank, not parsed from text.
    static func readLayers(_ statement: SQLiteStatement, model: String?, group: String?, mac: MACAddress,
                           into layers: inout Layers) throws(SQLiteError) {
        func scope(rank: Int) -> Scope {
            switch rank {
            case 0: .all
            case 1: .model(model ?? "")
            case 2: .group(group ?? "")
            default: .device(mac)
            }
        }
        while try statement.step() {
            let rank = statement.int(1)
            guard rank >= 0 && rank < 4 else { continue }
            let name = statement.text(2) ?? ""
            let value = statement.text(3) ?? ""
            if statement.int(0) == 0 {
                layers.settings.append(Setting(scope: scope(rank: rank), name: name, value: value,
                                               access: statement.text(4).flatMap { UserAccess(rawValue: $0) }))
            } else {
                layers.variables.append(Variable(scope: scope(rank: rank), name: name, value: value))
            }
        }
    }

    // MARK: Claims

    /// Remembers a phone that called with a valid certificate but has no device row: one row per MAC (a flood
    /// only bumps `count`), text columns cut to 256 bytes.
    public func recordClaim(identity: ClientIdentity, remoteAddress: String?, userAgent: String?, now: Int) throws(SQLiteError) {
        try Self.recordClaim(on: database, identity: identity, remoteAddress: remoteAddress, userAgent: userAgent, now: now)
    }

    /// `recordClaim` on a connection of the caller's: the CGI opens a writer only for this.
    static func recordClaim(on database: SQLiteDatabase, identity: ClientIdentity, remoteAddress: String?,
                            userAgent: String?, now: Int) throws(SQLiteError) {
        let statement = try database.prepare("""
            INSERT INTO claims (mac, serial, model, remote_addr, user_agent, first_seen, last_seen, count)
            VALUES (?1, substr(?2, 1, 256), substr(?3, 1, 256), substr(?4, 1, 256), substr(?5, 1, 256), ?6, ?6, 1)
            ON CONFLICT (mac) DO UPDATE SET serial = excluded.serial, model = excluded.model,
                remote_addr = excluded.remote_addr, user_agent = excluded.user_agent,
                last_seen = excluded.last_seen, count = count + 1
            """)
        try statement.bind(1, identity.mac.hex)
        try statement.bind(2, identity.serial)
        try statement.bind(3, identity.model)
        try statement.bind(4, remoteAddress)
        try statement.bind(5, userAgent)
        try statement.bind(6, now)
        try statement.step()
    }

    /// Notes that a known device fetched its profile: one row per MAC with first and last time, address,
    /// firmware and count. Written on a connection of the caller's, after the answer has gone out.
    public static func recordSeen(on database: SQLiteDatabase, mac: MACAddress, remoteAddress: String?,
                                  firmware: String?, now: Int) throws(SQLiteError) {
        let statement = try database.prepare("""
            INSERT INTO seen (mac, first_seen, last_seen, remote_addr, firmware, count)
            VALUES (?1, ?2, ?2, substr(?3, 1, 256), substr(?4, 1, 64), 1)
            ON CONFLICT (mac) DO UPDATE SET last_seen = excluded.last_seen, remote_addr = excluded.remote_addr,
                firmware = excluded.firmware, count = count + 1
            """)
        // One bind at a time: an array of `SQLiteValue` is a generic type the runtime would instantiate, on the CGI.
        try statement.bind(1, mac.hex)
        try statement.bind(2, now)
        try statement.bind(3, remoteAddress)
        try statement.bind(4, firmware)
        try statement.step()
    }

    /// Every claim, most recent first.
    public func claims() throws(SQLiteError) -> [Claim] {
        let statement = try database.prepare("""
            SELECT mac, serial, model, remote_addr, user_agent, first_seen, last_seen, count
            FROM claims ORDER BY last_seen DESC, mac
            """)
        var claims: [Claim] = []
        while try statement.step() {
            guard let mac = statement.text(0).flatMap({ MACAddress($0) }) else { continue }
            claims.append(Claim(mac: mac, serial: statement.text(1), model: statement.text(2),
                                remoteAddress: statement.text(3), userAgent: statement.text(4),
                                firstSeen: statement.int(5), lastSeen: statement.int(6), count: statement.int(7)))
        }
        return claims
    }

    // MARK: Writing (provctl)

    /// Adds a device; a MAC already stored is a constraint error.
    public func insert(_ device: Device) throws(SQLiteError) {
        let statement = try database.prepare("""
            INSERT INTO devices (mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """)
        try bindDevice(device, to: statement)
        try statement.step()
    }

    /// Replaces every field of the stored device with this MAC; false when there is none.
    @discardableResult
    public func update(_ device: Device) throws(SQLiteError) -> Bool {
        let statement = try database.prepare("""
            UPDATE devices SET serial = ?2, model = ?3, group_name = ?4, enabled = ?5, gzip = ?6, encryption = ?7,
                encryption_key = ?8, kdf_digest = ?9, updated_at = CAST(strftime('%s', 'now') AS INTEGER)
            WHERE mac = ?1
            """)
        try bindDevice(device, to: statement)
        try statement.step()
        return database.changes > 0
    }

    func bindDevice(_ device: Device, to statement: SQLiteStatement) throws(SQLiteError) {
        try statement.bind(1, device.mac.hex)
        try statement.bind(2, device.serial)
        try statement.bind(3, device.model)
        try statement.bind(4, device.group)
        try statement.bind(5, device.enabled ? 1 : 0)
        try statement.bind(6, device.gzip ? 1 : 0)
        try statement.bind(7, device.encryption.name)
        switch device.encryption {
        case .none:
            try statement.bind(8, nil as String?)
            try statement.bind(9, KeyDerivationDigest.sha256.rawValue)
        case .aes256cbc(let key, let digest):
            try statement.bind(8, key)
            try statement.bind(9, digest.rawValue)
        }
    }

    /// Every device, ordered by MAC.
    public func devices() throws(SQLiteError) -> [Device] {
        let statement = try database.prepare("SELECT \(Self.deviceColumns) FROM devices ORDER BY mac")
        var devices: [Device] = []
        while try statement.step() { devices.append(try Self.device(from: statement)) }
        return devices
    }

    /// Sets (inserts or replaces) one setting.
    public func set(_ setting: Setting) throws(SQLiteError) {
        let statement = try database.prepare("""
            INSERT INTO settings (scope, target, name, value, ua) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT (scope, target, name) DO UPDATE SET value = excluded.value, ua = excluded.ua
            """)
        try statement.bind([.text(setting.scope.kind), .text(setting.scope.target), .text(setting.name),
                            .text(setting.value), setting.access.map { .text($0.rawValue) } ?? .null])
        try statement.step()
    }

    /// Sets (inserts or replaces) one variable.
    public func set(_ variable: Variable) throws(SQLiteError) {
        let statement = try database.prepare("""
            INSERT INTO variables (scope, target, name, value) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (scope, target, name) DO UPDATE SET value = excluded.value
            """)
        try statement.bind([.text(variable.scope.kind), .text(variable.scope.target), .text(variable.name), .text(variable.value)])
        try statement.step()
    }

    /// Appends one row to the audit log. `who` is `SUDO_USER` or `USER`; values must already be masked.
    public func audit(who: String, action: String, target: String?, old: String?, new: String?, now: Int) throws(SQLiteError) {
        let statement = try database.prepare("""
            INSERT INTO audit (at, who, action, target, old_value, new_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """)
        try statement.bind([.integer(now), .text(who), .text(action), target.map { .text($0) } ?? .null,
                            old.map { .text($0) } ?? .null, new.map { .text($0) } ?? .null])
        try statement.step()
    }

    /// The current time in Unix seconds.
    public static func now() -> Int { Int(time(nil)) }
}
