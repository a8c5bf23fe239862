public import Provisioning
#if canImport(Glibc)
import Glibc
#endif

/// The admin's handle on the configuration database: its schema and migrations, every write, the audit log and
/// the undo log. It owns its connection (one owner per handle, as GRDB's `Database`): the read-only core store
/// it wraps (`store`) shares that connection for the reads provctl has in common with serving, and the journal
/// reader (`journal`) attaches the journals to it. Only `provctl` links this; the serving core opens the file
/// read-only (`ConfigurationStore(serving:)`) and checks `ConfigurationStore.schemaVersion`.
public final class ConfigurationEditor {
    /// The core's store on this editor's connection: what serving reads, read the same way.
    public let store: ConfigurationStore
    /// The connection; provctl runs its own statements and transactions on it.
    public var database: SQLiteDatabase { store.database }
    /// The schema version the file had when it was opened (0 for a new file), before any migration ran.
    public var versionAtOpen: Int { store.versionAtOpen }
    /// The journals attached to this connection (`attachJournals`); none until then.
    public internal(set) var journal: JournalReader
    /// The last `changes` row already tied to an audit entry (or written before this change began); the next
    /// entry owns the rows after it.
    public var undoMark: Int?
    /// The change set the entries of the running command join (schema 9): nil until its first entry, whose id
    /// it becomes.
    public var changeSet: Int?

    /// An editor over a store already open (a read-only one too: `provctl check` on a disk SQLite cannot write).
    public init(store: ConfigurationStore) {
        self.store = store
        journal = JournalReader(database: store.database)
    }

    /// Opens the file for the admin. Read-only checks the schema version; read-write and create run any pending
    /// migrations and switch the file to WAL mode.
    public convenience init(path: String, mode: SQLiteDatabase.Mode) throws(SQLiteError) {
        self.init(store: try ConfigurationStore(database: SQLiteDatabase(path: path, mode: mode)))
        if mode == .readOnly {
            try ConfigurationStore.checkVersion(versionAtOpen)
        } else {
            try database.execute("PRAGMA foreign_keys = ON")
            // Statement journals (every write that fires an undo trigger opens one) and temporary tables in
            // memory, not in files under /var/tmp: a 100k-device import wrote 1.8M small pages there.
            try database.execute("PRAGMA temp_store = MEMORY")
            try migrate()
            try database.execute(UndoLog.temporaryTriggers)
            try database.execute(ExpectedProfiles.temporaryTriggers)
        }
    }

    /// Attaches the journals and creates the fleet-wide views (`JournalReader`). Safe to call once per connection.
    @discardableResult
    public func attachJournals(_ journals: JournalFiles) throws(SQLiteError) -> [String] {
        journal = try JournalReader(attaching: journals, to: database)
        return journal.attached
    }

    // MARK: The core's reads, on this connection

    /// The device with this MAC, or `nil`.
    public func device(mac: MACAddress) throws(SQLiteError) -> Device? { try store.device(mac: mac) }
    /// The one device with this serial, or `nil`.
    public func device(serial: String) throws(SQLiteError) -> Device? { try store.device(serial: serial) }
    /// The device with the account `user`, or `nil`.
    public func device(accountUser user: String) throws(SQLiteError) -> Device? { try store.device(accountUser: user) }
    /// The key Digest nonces are signed with, or nil.
    public func nonceKey() throws(SQLiteError) -> [UInt8]? { try store.nonceKey() }
}

extension ConfigurationEditor {
    /// The migrations, in order, by name; migration `n` (1-based) takes `user_version` from n-1 to n (`migrator`).
    package static let migrations: [(name: String, sql: String)] = [
        ("devices, settings, variables, audit", """
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
        """),
        // 2: what serving records moved to the journal, a file of its own; the configuration database is never
        // written by serving. (The old rows were bookkeeping only: the journal starts afresh.)
        ("seen and claims to the journal", """
        DROP TABLE IF EXISTS seen;
        DROP TABLE IF EXISTS claims;
        """),
        // 3: undo. Every write to devices, settings and variables leaves its row before and after in `changes`,
        // tied to the audit entry that describes it; `provctl revert` and `device restore` put rows back from
        // there. The images hold values exactly (keys and passwords too), protected as the tables they copy.
        ("the undo log", UndoLog.migration),
        // 4: an audit entry names its rows by range (first_change..last_change): no index to keep up and no
        // update per entry, which made a 100k-device import pay twice for its undo rows.
        ("undo ranges", UndoLog.migrationRanges),
        // 5: RFC 8188 `aes128gcm` devices: the encryption CHECK admits it (the IKM, base64url, goes in
        // encryption_key), with the header's key id and record size per device. SQLite cannot change a CHECK in
        // place: the table is rebuilt with its rows.
        ("aes128gcm devices", """
        CREATE TABLE devices_v5 (
            mac TEXT NOT NULL PRIMARY KEY CHECK (length(mac) = 12 AND mac NOT GLOB '*[^0-9a-f]*'),
            serial TEXT,
            model TEXT,
            group_name TEXT,
            enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
            gzip INTEGER NOT NULL DEFAULT 0 CHECK (gzip IN (0, 1)),
            encryption TEXT NOT NULL DEFAULT 'none' CHECK (encryption IN ('none', 'aes-256-cbc', 'aes128gcm')),
            encryption_key TEXT,
            kdf_digest TEXT NOT NULL DEFAULT 'sha256' CHECK (kdf_digest IN ('md5', 'sha256')),
            ece_key_id TEXT NOT NULL DEFAULT '' CHECK (length(CAST(ece_key_id AS BLOB)) <= 255),
            ece_record_size INTEGER NOT NULL DEFAULT 4096 CHECK (ece_record_size BETWEEN 18 AND 4294967295),
            created_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
            updated_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
            CHECK (encryption = 'none' OR length(encryption_key) > 0)
        ) WITHOUT ROWID;
        INSERT INTO devices_v5 (mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest,
                                created_at, updated_at)
            SELECT mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, created_at,
                   updated_at FROM devices;
        DROP TABLE devices;
        ALTER TABLE devices_v5 RENAME TO devices;
        CREATE INDEX devices_by_group ON devices (group_name);
        CREATE INDEX devices_by_model ON devices (model);
        """),
        // 6: partitioned profiles. A setting belongs to a partition of the profile (`part`, '' for the main one):
        // a phone fetches `$MA-<part>.xml` with Profile_Rule_B.._D and gets only that partition's settings.
        // Variables stay shared by every partition. The primary key gains the column: the table is rebuilt.
        ("partitions", """
        CREATE TABLE settings_v6 (
            scope TEXT NOT NULL CHECK (scope IN ('default', 'model', 'group', 'device')),
            target TEXT NOT NULL,
            part TEXT NOT NULL DEFAULT '' CHECK (part = '' OR (length(part) <= 32 AND part NOT GLOB '*[^a-z0-9_]*')),
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            ua TEXT CHECK (ua IS NULL OR ua IN ('na', 'ro', 'rw')),
            PRIMARY KEY (scope, target, part, name)
        ) WITHOUT ROWID;
        INSERT INTO settings_v6 (scope, target, part, name, value, ua) SELECT scope, target, '', name, value, ua FROM settings;
        DROP TABLE settings;
        ALTER TABLE settings_v6 RENAME TO settings;
        """),
        // 7: trust without a certificate. A device may have an HTTP account (user name unique across devices; the
        // password only as HA1 = MD5(user:realm:password)), and a bootstrap policy: what a caller that proved
        // nothing may fetch. The undo log's triggers are made again over the current columns (rebuilding devices
        // in 5 and settings in 6 dropped theirs). `server_keys` holds the key Digest nonces are signed with (hex text, 32 random bytes;
        // replicated with the file, so every serving node accepts the others' nonces).
        ("accounts, bootstrap, server keys", """
        ALTER TABLE devices ADD COLUMN account_user TEXT CHECK (account_user IS NULL OR (length(account_user) BETWEEN 1 AND 64));
        ALTER TABLE devices ADD COLUMN account_realm TEXT;
        ALTER TABLE devices ADD COLUMN account_ha1 TEXT CHECK (account_ha1 IS NULL OR (length(account_ha1) = 32 AND account_ha1 NOT GLOB '*[^0-9a-f]*'));
        ALTER TABLE devices ADD COLUMN bootstrap TEXT NOT NULL DEFAULT 'none' CHECK (bootstrap IN ('none', 'cfg', 'profile'));
        CREATE UNIQUE INDEX devices_by_account ON devices (account_user) WHERE account_user IS NOT NULL;
        CREATE TABLE server_keys (name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO server_keys (name, value) VALUES ('nonce', lower(hex(randomblob(32))));
        """ + UndoLog.recreateTriggers),
        // 8: the undo triggers leave the file (every connection parsed them, the CGI's on every request); provctl
        // makes them as TEMP triggers on its own connection (`UndoLog.temporaryTriggers`).
        ("undo triggers out of the file", UndoLog.dropFileTriggers),
        // 9 (issue 20, "empty is not unchanged"): a setting whose value is empty says what the admin meant:
        // `empty` sets the phone's value to the empty string (`<X></X>`), `keep` leaves the phone's value as it is
        // (`<X/>`, FACTS §4). NULL on an empty value is a row written before this migration: its intent is
        // unknown, it is served as before (`<X/>`) until `provctl settle-empty` decides, and `provctl check` lists
        // it. Non-empty values carry NULL (provctl writes it so; the CHECK stays short because every CGI request
        // parses the schema: `value = '' AND ...` cost 11k instructions a request more, a partial index 3k).
        // Serials get an index: a caller whose User-Agent names only a serial is matched to its device by it.
        ("empty intent, serial index", """
        ALTER TABLE settings ADD COLUMN intent TEXT CHECK (intent IN ('empty', 'keep'));
        CREATE INDEX devices_by_serial ON devices (serial);
        """),
        // 10 (issue 21, "change sets"): every provctl command is one change set, one ID: its audit entries share
        // `change_set` (the id of its first entry), `history` lists sets and `revert ID` undoes a whole set (an
        // import of 2,000 rows as one). Entries written before are each a set of their own.
        ("change sets", UndoLog.migrationChangeSets),
        // 11 (issue 24, "pending at a provider's size"): each device's expected profile SHA-256, kept by provctl's
        // connection (`ExpectedProfiles`): `pending` reads it instead of rendering every device. Serving never
        // reads it. Empty here: the first change fills it (until then `pending` renders, as before).
        ("expected profiles", ExpectedProfiles.migration),
    ]

    /// The configuration database's migrator: `migrations`, each in its own transaction, WAL mode first.
    package static let migrator: SQLiteMigrator = {
        var migrator = SQLiteMigrator(file: "configuration")
        for (name, sql) in migrations { migrator.registerMigration(name, sql: sql) }
        return migrator
    }()

    /// Runs the migrations the file has not had yet, each in its own transaction, and sets WAL mode.
    /// Returns the version before and after.
    @discardableResult
    public func migrate() throws(SQLiteError) -> (from: Int, to: Int) {
        let versions = try Self.migrator.migrate(database)
        // A migration may change what devices render: the expected hashes of the file are no longer known.
        if versions.from >= 11 && versions.from < versions.to {
            try database.execute("DELETE FROM expected_profiles")
        }
        return versions
    }

    /// The settings and variables of the default scope, `model`'s, `group`'s and `mac`'s, in one query that walks
    /// the primary-key index once per scope and table.
    public func layers(model: String?, group: String?, mac: MACAddress, partition: String = "") throws(SQLiteError) -> Layers {
        let statement = try database.prepare(Self.layersQuery(where: Self.allFourScopes))
        try statement.bind(1, model)
        try statement.bind(2, group)
        try statement.bind(3, mac.hex)
        try statement.bind(4, partition)
        var layers = Layers()
        try Self.readLayers(statement, model: model, group: group, mac: mac, into: &layers)
        return layers
    }

    /// The rows of `settings` and `variables` that `condition` selects, as (table, scope rank, name, value, ua):
    /// 0 for settings, 1 for variables. One OR per table lets SQLite answer with a multi-index OR over the primary
    /// key, and parsing two short SELECTs costs far less than eight (the parse is a good part of a CGI request).
    /// No ORDER BY: SQLite's sorter cost more (0.23M instructions) than the merge in ResolvedSettings, which finds
    /// each scope's rows already in primary-key order. `provctl` prepares it once for many devices. Settings are
    /// those of partition ?4 ('' for the main profile); variables are shared by every partition.
    static func layersQuery(where condition: String) -> String {
        """
        SELECT 0, CASE scope WHEN 'default' THEN 0 WHEN 'model' THEN 1 WHEN 'group' THEN 2 ELSE 3 END, name, value, ua, intent
        FROM settings WHERE (\(condition)) AND part = ?4
        UNION ALL
        SELECT 1, CASE scope WHEN 'default' THEN 0 WHEN 'model' THEN 1 WHEN 'group' THEN 2 ELSE 3 END, name, value, NULL, NULL
        FROM variables WHERE \(condition)
        """
    }

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
                                               access: statement.text(4).flatMap { UserAccess(rawValue: $0) },
                                               intent: EmptyIntent(column: statement.text(5))))
            } else {
                layers.variables.append(Variable(scope: scope(rank: rank), name: name, value: value))
            }
        }
    }

    // MARK: Writing (provctl)

    /// Adds a device; a MAC already stored is a constraint error.
    public func insert(_ device: Device) throws(SQLiteError) {
        let statement = try database.prepare(Self.insertDeviceSQL)
        try bindDevice(device, to: statement)
        try statement.step()
    }

    /// Replaces every field of the stored device with this MAC; false when there is none.
    @discardableResult
    public func update(_ device: Device) throws(SQLiteError) -> Bool {
        let statement = try database.prepare(Self.updateDeviceSQL)
        try bindDevice(device, to: statement)
        try statement.step()
        return database.changes > 0
    }

    /// The statements `bindDevice` binds: every field of a device, ?1 its MAC.
    public static let insertDeviceSQL = """
        INSERT INTO devices (mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest,
                             ece_key_id, ece_record_size, account_user, account_realm, account_ha1, bootstrap)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
        """
    public static let updateDeviceSQL = """
        UPDATE devices SET serial = ?2, model = ?3, group_name = ?4, enabled = ?5, gzip = ?6, encryption = ?7,
            encryption_key = ?8, kdf_digest = ?9, ece_key_id = ?10, ece_record_size = ?11,
            account_user = ?12, account_realm = ?13, account_ha1 = ?14, bootstrap = ?15, updated_at = CAST(strftime('%s', 'now') AS INTEGER)
        WHERE mac = ?1
        """

    public func bindDevice(_ device: Device, to statement: SQLiteStatement) throws(SQLiteError) {
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
        case .aes128gcm(let key):
            try statement.bind(8, key.ikm)
            try statement.bind(9, KeyDerivationDigest.sha256.rawValue)
        }
        if case .aes128gcm(let key) = device.encryption {
            try statement.bind(10, key.keyID)
            try statement.bind(11, key.recordSize)
        } else {
            try statement.bind(10, "")
            try statement.bind(11, AES128GCM.defaultRecordSize)
        }
        try statement.bind(12, device.account?.user)
        try statement.bind(13, device.account?.realm)
        try statement.bind(14, device.account?.ha1)
        try statement.bind(15, device.bootstrap.rawValue)
    }

    /// Every device, ordered by MAC.
    public func devices() throws(SQLiteError) -> [Device] {
        let statement = try database.prepare("SELECT \(ConfigurationStore.deviceColumns) FROM devices ORDER BY mac")
        var devices: [Device] = []
        while try statement.step() { devices.append(try ConfigurationStore.device(from: statement)) }
        return devices
    }

    /// Sets (inserts or replaces) one setting. An empty value without an intent is stored as `.empty` (what
    /// `NAME=` says since schema 9); only rows older than that have none.
    public func set(_ setting: Setting) throws(SQLiteError) {
        let statement = try database.prepare("""
            INSERT INTO settings (scope, target, name, value, ua, part, intent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            ON CONFLICT (scope, target, part, name) DO UPDATE SET value = excluded.value, ua = excluded.ua, intent = excluded.intent
            """)
        let intent = setting.value.isEmpty ? (setting.intent ?? .empty) : nil
        try statement.bind([.text(setting.scope.kind), .text(setting.scope.target), .text(setting.name),
                            .text(setting.value), setting.access.map { .text($0.rawValue) } ?? .null,
                            .text(setting.partition), intent.map { .text($0.rawValue) } ?? .null])
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
    /// The row changes written since the last entry (`changes` rows without an entry) become this entry's, so
    /// `provctl revert` can undo it. Returns the entry's id.
    @discardableResult
    public func audit(who: String, action: String, target: String?, old: String?, new: String?, now: Int) throws(SQLiteError) -> Int {
        let statement = try database.prepare("""
            INSERT INTO audit (at, who, action, target, old_value, new_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """)
        try statement.bind([.integer(now), .text(who), .text(action), target.map { .text($0) } ?? .null,
                            old.map { .text($0) } ?? .null, new.map { .text($0) } ?? .null])
        try statement.step()
        let id = database.lastInsertRowID
        try joinChangeSet(entry: id)
        let range = try undoRange()
        if let range {
            let tie = try database.prepare("UPDATE audit SET first_change = ?2, last_change = ?3 WHERE id = ?1")
            try tie.bind([.integer(id), .integer(range.lowerBound), .integer(range.upperBound)])
            try tie.step()
        }
        return id
    }

    /// The current time in Unix seconds.
    public static func now() -> Int { Int(time(nil)) }
}
