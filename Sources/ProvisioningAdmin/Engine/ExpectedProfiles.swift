public import Provisioning

/// Each device's expected profile SHA-256 (schema 11, `expected_profiles`): what `pending` compares with the last
/// profile served, so it reads one row instead of rendering the device (issue 24 point 6). A row's `mac` is the
/// device's MAC as an integer (its 12 hex digits), `value` the SHA-256 (NULL: the device does not render); the row
/// of `mac` -1 holds the secret variable names, one a line (`secretVariables`). One rowid table with an INTEGER
/// PRIMARY KEY: every CGI request parses the schema, and this definition costs it about 17k instructions (two
/// WITHOUT ROWID tables, text keys, cost 42k; measured with callgrind on `sqlite3`).
///
/// A row is a promise: `value` is what `DeviceLoop.currentSHA256` gives the device as stored (its own model and
/// serial), rendered by this build's renderer (`format`). It is kept so in three steps:
/// - On every connection that may write (`ConfigurationEditor(path:mode:)` read-write), TEMP triggers on
///   `devices`, `settings` and `variables` DELETE the rows a write can change (the device; a group's or a model's
///   devices; every row for the default scope) and note their MACs in `temp.expected_dirty` ('*': all). A write
///   never leaves a wrong row behind, whatever code makes it (a command, revert, restore, import, a migration).
/// - Before a change commits (`ChangeEngine.run`), `refresh` renders the noted devices and any device without a
///   row of this `format` (a file made by an older release, rows a writer without the triggers left out) and
///   writes their rows in the same transaction.
/// - `pending` uses a row only when it exists with this `format` and the device is presented as stored (a device
///   without a model or serial takes the certificate's: rendered then); every other device is rendered as before.
/// A migration that changes what a device renders must clear the table (`migrate` does it after any migration).
/// A build whose rendering changes bumps `format`: older rows are then ignored and rendered again on the next
/// change. Replicas receive the table with the file (Litestream); they never write it.
public enum ExpectedProfiles {
    /// The renderer's output format the rows were computed with; bump when a build renders any profile differently.
    public static let format = 1

    /// Migration 11.
    static let migration = """
        CREATE TABLE expected_profiles (mac INTEGER PRIMARY KEY, value TEXT, format INTEGER NOT NULL);
        """

    /// The row of the secret variable names.
    static let secretRow = -1

    /// SQL: the 12 lowercase hex digits of `text` as the integer `mac` keys rows by.
    static func integer(_ text: String) -> String {
        "(" + (0..<12).map { "((instr('0123456789abcdef', substr(\(text), \($0 + 1), 1)) - 1) << \(4 * (11 - $0)))" }
            .joined(separator: " | ") + ")"
    }

    /// The integer key of `mac`.
    static func key(_ mac: MACAddress) -> Int { Int(mac.hex, radix: 16) ?? 0 }

    /// The TEMP triggers and the dirty list, made on every connection that may write (after the migrations).
    static let temporaryTriggers: String = {
        var sql = """
            CREATE TEMP TABLE IF NOT EXISTS expected_dirty (mac TEXT NOT NULL);
            CREATE TEMP TRIGGER IF NOT EXISTS devices_expected_insert AFTER INSERT ON main.devices BEGIN
                DELETE FROM expected_profiles WHERE mac = \(integer("NEW.mac"));
                INSERT INTO expected_dirty (mac) VALUES (NEW.mac);
            END;
            CREATE TEMP TRIGGER IF NOT EXISTS devices_expected_update AFTER UPDATE ON main.devices BEGIN
                DELETE FROM expected_profiles WHERE mac IN (\(integer("OLD.mac")), \(integer("NEW.mac")));
                INSERT INTO expected_dirty (mac) VALUES (NEW.mac);
            END;
            CREATE TEMP TRIGGER IF NOT EXISTS devices_expected_delete AFTER DELETE ON main.devices BEGIN
                DELETE FROM expected_profiles WHERE mac = \(integer("OLD.mac"));
            END;

            """
        // Repeats are kept (`refresh` reads the MACs through IN): a trigger's INSERT OR IGNORE would take the
        // conflict policy of the statement that fired it (an upsert's update aborts on the repeat).
        // A setting or variable row at a scope: the devices that scope reaches lose their rows. Both images of an
        // update (it may move a row between scopes). A setting holding {{variables}} also voids the secret names (row `secretRow`).
        func reach(_ row: String, setting: Bool = false) -> String {
            (setting ? "    DELETE FROM expected_profiles WHERE mac = \(secretRow) AND instr(\(row).value, '{{') > 0;\n" : "") + """
                DELETE FROM expected_profiles WHERE \(row).scope = 'default' AND mac >= 0;
                DELETE FROM expected_profiles WHERE \(row).scope = 'device' AND mac = \(integer("\(row).target"));
                DELETE FROM expected_profiles WHERE \(row).scope = 'group'
                    AND mac IN (SELECT \(integer("mac")) FROM devices WHERE group_name = \(row).target);
                DELETE FROM expected_profiles WHERE \(row).scope = 'model'
                    AND mac IN (SELECT \(integer("mac")) FROM devices WHERE model = \(row).target);
                INSERT INTO expected_dirty (mac) SELECT '*' WHERE \(row).scope = 'default';
                INSERT INTO expected_dirty (mac) SELECT \(row).target WHERE \(row).scope = 'device';
                INSERT INTO expected_dirty (mac)
                    SELECT mac FROM devices WHERE \(row).scope = 'group' AND group_name = \(row).target;
                INSERT INTO expected_dirty (mac)
                    SELECT mac FROM devices WHERE \(row).scope = 'model' AND model = \(row).target;

            """
        }
        for table in ["settings", "variables"] {
            let setting = table == "settings"
            sql += """
                CREATE TEMP TRIGGER IF NOT EXISTS \(table)_expected_insert AFTER INSERT ON main.\(table) BEGIN
                \(reach("NEW", setting: setting))END;
                CREATE TEMP TRIGGER IF NOT EXISTS \(table)_expected_update AFTER UPDATE ON main.\(table) BEGIN
                \(reach("OLD", setting: setting))\(reach("NEW", setting: setting))END;
                CREATE TEMP TRIGGER IF NOT EXISTS \(table)_expected_delete AFTER DELETE ON main.\(table) BEGIN
                \(reach("OLD", setting: setting))END;

                """
        }
        return sql
    }()

    /// Whether the file has the table (schema 11 on).
    static func exists(_ store: ConfigurationEditor) throws(SQLiteError) -> Bool {
        let statement = try store.database.prepare(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'expected_profiles'")
        return try statement.step() && statement.int(0) > 0
    }

    /// Writes the rows of the devices the change noted and of every device without a row of this format, inside
    /// the caller's transaction, with the change's rows already written. Returns how many devices it rendered.
    @discardableResult
    public static func refresh(_ store: ConfigurationEditor) throws -> Int {
        guard try exists(store) else { return 0 }
        let renderer = try ProfileRenderer(store: store, cachesSharedLayers: true)
        let upsert = try store.database.prepare(
            "INSERT OR REPLACE INTO expected_profiles (mac, value, format) VALUES (?1, ?2, ?3)")
        var rendered = 0
        func write(_ device: Device) throws {
            upsert.reset()
            try upsert.bind(1, key(device.mac))
            try upsert.bind(2, try? sha256(renderer, device))
            try upsert.bind(3, format)
            try upsert.step()
            rendered += 1
        }
        let everything = try store.database.prepare("SELECT EXISTS (SELECT 1 FROM temp.expected_dirty WHERE mac = '*')")
        if try everything.step(), everything.int(0) > 0 {
            try store.database.execute("DELETE FROM expected_profiles WHERE mac >= 0")
            try renderer.forEachDevice(write)
        } else {
            try forEach(store, where: "mac IN (SELECT mac FROM temp.expected_dirty)", write)
            // Devices without a current row: a file made before schema 11, a write on a connection without the
            // triggers. Counted first: the walk is for the rare case.
            let counts = try store.database.prepare("""
                SELECT (SELECT count(*) FROM devices), (SELECT count(*) FROM expected_profiles WHERE mac >= 0 AND format = ?1),
                       (SELECT count(*) FROM expected_profiles WHERE mac >= 0)
                """)
            try counts.bind(1, format)
            if try counts.step(), counts.int(0) != counts.int(1) || counts.int(1) != counts.int(2) {
                try store.database.execute(
                    "DELETE FROM expected_profiles WHERE mac >= 0 AND mac NOT IN (SELECT \(integer("mac")) FROM devices)")
                try forEach(store, where: "\(integer("mac")) NOT IN (SELECT mac FROM expected_profiles WHERE format = \(format))", write)
            }
        }
        try store.database.execute("DELETE FROM temp.expected_dirty")
        try refreshSecretVariables(store)
        return rendered
    }

    /// The row `secretRow`: the names `secretVariableNames` gives, sorted, one a line. A write of a setting that
    /// holds {{variables}} deletes it (the triggers); it is made again here.
    static func refreshSecretVariables(_ store: ConfigurationEditor) throws {
        let kept = try store.database.prepare("SELECT count(*) FROM expected_profiles WHERE mac = ?1 AND format = ?2")
        try kept.bind(1, secretRow)
        try kept.bind(2, format)
        guard try kept.step(), kept.int(0) == 0 else { return }
        let insert = try store.database.prepare("INSERT OR REPLACE INTO expected_profiles (mac, value, format) VALUES (?1, ?2, ?3)")
        try insert.bind(1, secretRow)
        try insert.bind(2, try secretVariableNames(store).sorted().joined(separator: "\n"))
        try insert.bind(3, format)
        try insert.step()
    }

    /// The secret variable names as row `secretRow` keeps them, nil when it does not (a file before schema 11,
    /// a write on a connection without the triggers): then `secretVariableNames` reads every setting.
    public static func secretVariables(_ store: ConfigurationEditor) throws(SQLiteError) -> Set<String>? {
        guard try exists(store) else { return nil }
        let statement = try store.database.prepare("SELECT value FROM expected_profiles WHERE mac = ?1 AND format = ?2")
        try statement.bind(1, secretRow)
        try statement.bind(2, format)
        guard try statement.step() else { return nil }
        return Set((statement.text(0) ?? "").split(separator: "\n").map(String.init))
    }

    /// The SHA-256 `pending` compares: the XML profile-cgi would send `device` (`DeviceLoop.currentSHA256`).
    static func sha256(_ renderer: ProfileRenderer, _ device: Device) throws(RenderError) -> String {
        Digest.sha256Hex(try renderer.profile(for: device, form: .xml))
    }

    static func forEach(_ store: ConfigurationEditor, where condition: String, _ body: (Device) throws -> Void) throws {
        let statement = try store.database.prepare(
            "SELECT \(ConfigurationStore.deviceColumns) FROM devices WHERE \(condition) ORDER BY mac")
        // Streamed: writing `expected_profiles` while this reads is safe (a NOT IN subquery is read once, first).
        while try statement.step() { try body(try ConfigurationStore.device(from: statement)) }
    }

    /// The stored hashes of the devices `from`...`through` (inclusive) by `key`, of this format; a device that did
    /// not render has none (nil in the map, rendered by the caller for its problem).
    static func hashes(_ store: ConfigurationEditor, from: MACAddress, through: MACAddress) throws(SQLiteError) -> [Int: String] {
        let statement = try store.database.prepare("""
            SELECT mac, value FROM expected_profiles WHERE mac BETWEEN ?1 AND ?2 AND format = ?3 AND value IS NOT NULL
            """)
        try statement.bind(1, key(from))
        try statement.bind(2, key(through))
        try statement.bind(3, format)
        var found: [Int: String] = [:]
        while try statement.step() {
            if let sha = statement.text(1) { found[statement.int(0)] = sha }
        }
        return found
    }
}
