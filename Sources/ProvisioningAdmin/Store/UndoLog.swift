public import Provisioning

/// The undo log: the `changes` table and the triggers that fill it. Each write to `devices`, `settings` or
/// `variables` leaves one row: the table, the row's image before (NULL when it was inserted) and after (NULL when
/// it was deleted), as `json_object` text. `ConfigurationEditor.audit` ties the rows written since the previous entry to
/// the new audit entry (by range: `audit.first_change`..`last_change`, schema 4), so every recorded change (including `import`, which writes with statements of its own,
/// and commands added later) can be undone without code of its own.
public enum UndoLog {
    /// The tables the log covers, each with its columns and the columns that identify a row.
    struct Table {
        var name: String
        var columns: [String]
        var key: [String]
    }

    /// The tables as they are now (schema 9: settings gained `intent`): what the triggers record and `revert`
    /// writes back. An image taken before schema 9 has no `intent`: it reads back as NULL, as the row was.
    static let tables = [
        Table(name: "devices", columns: ["mac", "serial", "model", "group_name", "enabled", "gzip", "encryption",
                                         "encryption_key", "kdf_digest", "ece_key_id", "ece_record_size", "account_user",
                                         "account_realm", "account_ha1", "bootstrap", "created_at", "updated_at"], key: ["mac"]),
        Table(name: "settings", columns: ["scope", "target", "part", "name", "value", "ua", "intent"], key: ["scope", "target", "part", "name"]),
        Table(name: "variables", columns: ["scope", "target", "name", "value"], key: ["scope", "target", "name"]),
        // The name/value rows: expected devices and adoption rules (`ExpectedEntry`, `provctl expect`), so an
        // import, a removal or an onboarding is undone like any change. (The nonce key, made by migration 7, is
        // never written again.)
        Table(name: "server_keys", columns: ["name", "value"], key: ["name"]),
    ]

    /// The tables as migration 7 saw them (frozen: a migration's SQL never changes).
    static let tablesAtVersion7 = [
        Table(name: "devices", columns: ["mac", "serial", "model", "group_name", "enabled", "gzip", "encryption",
                                         "encryption_key", "kdf_digest", "ece_key_id", "ece_record_size", "account_user",
                                         "account_realm", "account_ha1", "bootstrap", "created_at", "updated_at"], key: ["mac"]),
        Table(name: "settings", columns: ["scope", "target", "part", "name", "value", "ua"], key: ["scope", "target", "part", "name"]),
        Table(name: "variables", columns: ["scope", "target", "name", "value"], key: ["scope", "target", "name"]),
    ]

    /// The tables as migration 3 saw them (frozen: a migration's SQL never changes).
    static let tablesAtVersion3 = [
        Table(name: "devices", columns: ["mac", "serial", "model", "group_name", "enabled", "gzip", "encryption",
                                         "encryption_key", "kdf_digest", "created_at", "updated_at"], key: ["mac"]),
        Table(name: "settings", columns: ["scope", "target", "name", "value", "ua"], key: ["scope", "target", "name"]),
        Table(name: "variables", columns: ["scope", "target", "name", "value"], key: ["scope", "target", "name"]),
    ]

    /// The three triggers of each table, over `tables`' columns: in the file (migrations 3 and 7), or `temporary`
    /// on the main tables for one connection (schema 8 on).
    static func triggers(_ tables: [Table], temporary: Bool = false) -> String {
        var sql = ""
        let create = temporary ? "CREATE TEMP TRIGGER IF NOT EXISTS" : "CREATE TRIGGER"
        for table in tables {
            let t = table.name
            let on = temporary ? "main." + t : t
            sql += """
                \(create) \(t)_undo_insert AFTER INSERT ON \(on) BEGIN
                    INSERT INTO changes (tbl, old, new) VALUES ('\(t)', NULL, \(image(table, "NEW.")));
                END;
                \(create) \(t)_undo_update AFTER UPDATE ON \(on) BEGIN
                    INSERT INTO changes (tbl, old, new) VALUES ('\(t)', \(image(table, "OLD.")), \(image(table, "NEW.")));
                END;
                \(create) \(t)_undo_delete AFTER DELETE ON \(on) BEGIN
                    INSERT INTO changes (tbl, old, new) VALUES ('\(t)', \(image(table, "OLD.")), NULL);
                END;

                """
        }
        return sql
    }

    /// Drops whatever undo triggers exist and makes them over the current columns (the end of migration 7).
    static let recreateTriggers: String = {
        var sql = "\n"
        for table in tablesAtVersion7 {
            for event in ["insert", "update", "delete"] { sql += "DROP TRIGGER IF EXISTS \(table.name)_undo_\(event);\n" }
        }
        return sql + triggers(tablesAtVersion7)
    }()

    /// Migration 8: the triggers leave the file. Kept there, every connection parses their nine json_object
    /// bodies with the schema, and a CGI request opens a connection: that parse was half of its instructions.
    static let dropFileTriggers = dropTriggers(in: "main", on: ["devices", "settings", "variables"])

    /// The triggers as provctl makes them on each connection that may write (schema 8 on): TEMP triggers on the
    /// main tables, seen by that connection only. Writes made by other programs (sqlite3) leave no undo rows;
    /// they never belonged to an entry anyway (`startUndoRange`).
    package static let temporaryTriggers = triggers(tables, temporary: true)

    /// Bulk writers (`provctl import`) record their rows with statements of their own, as the triggers would:
    /// the triggers on `tables` are dropped for this connection (`dropTriggers(in: "temp", ...)`; they come back
    /// with `temporaryTriggers`, or with a rollback), and `imageSQL` reads a row's image exactly as a trigger
    /// makes it. The triggers cost a 100k-device import about 2.5 of its 6 s (a trigger program and a statement
    /// journal per written row).
    package static func dropTriggers(in schema: String, on names: [String]) -> String {
        var sql = ""
        for name in names {
            for event in ["insert", "update", "delete"] { sql += "DROP TRIGGER IF EXISTS \(schema).\(name)_undo_\(event);\n" }
        }
        return sql
    }

    /// `SELECT json_object(...) FROM <table> WHERE <condition>`: the image of the rows `condition` selects.
    package static func imageSQL(of name: String, where condition: String) -> String {
        let table = tables.first { $0.name == name }!
        return "SELECT \(image(table, "")) FROM \(name) WHERE \(condition)"
    }

    /// `json_object('mac', P.mac, ...)`: a row's image; `prefix` is `NEW.`, `OLD.` or empty for a SELECT.
    static func image(_ table: Table, _ prefix: String) -> String {
        "json_object(" + table.columns.map { "'\($0)', \(prefix)\($0)" }.joined(separator: ", ") + ")"
    }

    /// Migration 3.
    static let migration: String = {
        """
        CREATE TABLE changes (
            seq INTEGER PRIMARY KEY,
            audit_id INTEGER,
            tbl TEXT NOT NULL,
            old TEXT,
            new TEXT
        );
        CREATE INDEX changes_by_audit ON changes (audit_id);
        CREATE INDEX changes_pending ON changes (seq) WHERE audit_id IS NULL;
        CREATE INDEX audit_by_at ON audit (at);

        """ + triggers(tablesAtVersion3)
    }()

    /// Migration 4: ranges instead of a column on every row. Entries written under 3 get their range from it.
    static let migrationRanges = """
        ALTER TABLE audit ADD COLUMN first_change INTEGER;
        ALTER TABLE audit ADD COLUMN last_change INTEGER;
        UPDATE audit SET first_change = (SELECT min(seq) FROM changes WHERE audit_id = audit.id),
            last_change = (SELECT max(seq) FROM changes WHERE audit_id = audit.id);
        DROP INDEX IF EXISTS changes_pending;
        DROP INDEX IF EXISTS changes_by_audit;
        """
}

extension UndoLog {
    /// Migration 9: change sets.
    static let migrationChangeSets = """
        ALTER TABLE audit ADD COLUMN change_set INTEGER;
        UPDATE audit SET change_set = id;
        CREATE INDEX audit_by_change_set ON audit (change_set);
        """
}

/// One row change of an audit entry.
public struct RowChange: Sendable, Equatable {
    public var seq: Int
    public var table: String
    /// The row's image before and after; nil when it did not exist.
    public var old: String?
    public var new: String?
}

/// Why an entry cannot be reverted as it stands.
public struct RevertConflict: Error, Sendable, CustomStringConvertible {
    public var entry: Int
    public var table: String
    /// The row, as `mac=...` or `scope name`.
    public var row: String
    public var description: String {
        "entry #\(entry): \(row) (\(table)) was changed again since; revert the later entries first, or use --force"
    }
}

extension ConfigurationEditor {
    /// The newest `changes` row (0 when there is none).
    public func lastChange() throws(SQLiteError) -> Int {
        let statement = try database.prepare("SELECT ifnull(max(seq), 0) FROM changes")
        return try statement.step() ? statement.int(0) : 0
    }

    /// Marks the rows written so far as belonging to no new entry: call it when a change's transaction begins,
    /// so rows written outside provctl (sqlite3, a generator) are never undone by the entry that follows.
    public func startUndoRange() throws(SQLiteError) { undoMark = try lastChange() }

    /// The rows written since the last entry (or since `startUndoRange`), nil when none, and moves the mark past
    /// them. Without a mark, the rows after the newest entry's range.
    public func undoRange() throws(SQLiteError) -> ClosedRange<Int>? {
        let mark: Int
        if let undoMark {
            mark = undoMark
        } else {
            let statement = try database.prepare("SELECT last_change FROM audit WHERE last_change IS NOT NULL ORDER BY id DESC LIMIT 1")
            mark = try statement.step() ? statement.int(0) : 0
        }
        let last = try lastChange()
        undoMark = last
        return last > mark ? (mark + 1)...last : nil
    }

    /// Starts a new change set: the next audit entry opens it, the entries after it join it.
    public func startChangeSet() { changeSet = nil }

    /// Puts entry `entry` (just written) into the running change set, or opens one with it.
    public func joinChangeSet(entry: Int) throws(SQLiteError) {
        let set = changeSet ?? entry
        changeSet = set
        let statement = try database.prepare("UPDATE audit SET change_set = ?2 WHERE id = ?1")
        try statement.bind([.integer(entry), .integer(set)])
        try statement.step()
    }

    /// The entries of change set `set` that recorded rows, newest first (`revert`); empty when there is none.
    public func changeSetEntries(_ set: Int) throws(SQLiteError) -> [Int] {
        let statement = try database.prepare("""
            SELECT id FROM audit WHERE coalesce(change_set, id) = ?1 AND first_change IS NOT NULL ORDER BY id DESC
            """)
        try statement.bind(1, set)
        var ids: [Int] = []
        while try statement.step() { ids.append(statement.int(0)) }
        return ids
    }

    /// The change set entry `entry` belongs to, nil when there is no such entry.
    public func changeSet(of entry: Int) throws(SQLiteError) -> Int? {
        let statement = try database.prepare("SELECT coalesce(change_set, id) FROM audit WHERE id = ?1")
        try statement.bind(1, entry)
        return try statement.step() ? statement.int(0) : nil
    }

    /// The row changes recorded for an audit entry, in the order they were written.
    public func rowChanges(entry: Int) throws(SQLiteError) -> [RowChange] {
        let statement = try database.prepare("""
            SELECT c.seq, c.tbl, c.old, c.new FROM audit a JOIN changes c ON c.seq BETWEEN a.first_change AND a.last_change
            WHERE a.id = ?1 ORDER BY c.seq
            """)
        try statement.bind(1, entry)
        var rows: [RowChange] = []
        while try statement.step() {
            rows.append(RowChange(seq: statement.int(0), table: statement.text(1) ?? "", old: statement.text(2),
                                  new: statement.text(3)))
        }
        return rows
    }

    /// The change sets with an entry at or after `since` (Unix seconds) that has row changes, newest first.
    public func revertibleChangeSets(since: Int) throws(SQLiteError) -> [Int] {
        let statement = try database.prepare("""
            SELECT DISTINCT coalesce(change_set, id) AS s FROM audit WHERE at >= ?1 AND first_change IS NOT NULL ORDER BY s DESC
            """)
        try statement.bind(1, since)
        var ids: [Int] = []
        while try statement.step() { ids.append(statement.int(0)) }
        return ids
    }

    /// The newest entry that removed device `mac` (and recorded its rows), if any.
    public func removalEntry(mac: MACAddress) throws(SQLiteError) -> Int? {
        let statement = try database.prepare("""
            SELECT a.id FROM audit a WHERE a.target = ?1 AND a.action = 'device remove'
                AND EXISTS (SELECT 1 FROM changes c WHERE c.seq BETWEEN a.first_change AND a.last_change
                            AND c.tbl = 'devices' AND c.new IS NULL)
            ORDER BY a.id DESC LIMIT 1
            """)
        try statement.bind(1, mac.hex)
        return try statement.step() ? statement.int(0) : nil
    }

    /// The devices and scopes an entry's rows touch, from their images: device MACs, and the scopes of settings
    /// and variables.
    public func touched(by changes: [RowChange]) throws(SQLiteError) -> (macs: Set<MACAddress>, scopes: Set<Scope>) {
        var macs: Set<MACAddress> = []
        var scopes: Set<Scope> = []
        let read = try database.prepare("SELECT json_extract(?1, '$.mac'), json_extract(?1, '$.scope'), json_extract(?1, '$.target')")
        for change in changes {
            for image in [change.old, change.new] {
                guard let image else { continue }
                read.reset()
                try read.bind(1, image)
                guard try read.step() else { continue }
                if change.table == "devices" {
                    if let mac = read.text(0).flatMap({ MACAddress($0) }) { macs.insert(mac) }
                } else if let scope = Scope(kind: read.text(1) ?? "", target: read.text(2) ?? "") {
                    scopes.insert(scope)
                }
            }
        }
        return (macs, scopes)
    }

    /// Puts back the rows an entry changed, newest first: each row must still be as the entry left it, unless
    /// `force`. Run it inside a transaction; the triggers record what it writes, for the caller's audit entry.
    public func revert(entry: Int, changes: [RowChange], force: Bool) throws {
        for change in changes.reversed() {
            guard let table = UndoLog.tables.first(where: { $0.name == change.table }) else { continue }
            let image = change.new ?? change.old ?? "{}"
            let keyCondition = table.key.map { "\($0) = json_extract(?1, '$.\($0)')" }.joined(separator: " AND ")
            let current = try database.prepare("SELECT \(UndoLog.image(table, "")) FROM \(table.name) WHERE \(keyCondition)")
            try current.bind(1, image)
            let now: String? = try current.step() ? current.text(0) : nil
            if now != change.new && !force {
                let describe = try database.prepare("SELECT " + table.key.map { "json_extract(?1, '$.\($0)')" }.joined(separator: " || ' ' || "))
                try describe.bind(1, image)
                let row = try describe.step() ? (describe.text(0) ?? "?") : "?"
                throw RevertConflict(entry: entry, table: table.name, row: row)
            }
            let delete = try database.prepare("DELETE FROM \(table.name) WHERE \(keyCondition)")
            try delete.bind(1, image)
            try delete.step()
            if let old = change.old {
                // An image recorded before a column existed (schemas 5-7 added some) leaves it to its default.
                let present = try database.prepare("SELECT " + table.columns.map { "json_type(?1, '$.\($0)') IS NOT NULL" }.joined(separator: ", "))
                try present.bind(1, old)
                _ = try present.step()
                let columns = table.columns.enumerated().filter { present.int(Int32($0.offset)) != 0 }.map(\.element)
                let insert = try database.prepare("INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) SELECT "
                    + columns.map { "json_extract(?1, '$.\($0)')" }.joined(separator: ", "))
                try insert.bind(1, old)
                try insert.step()
            }
        }
    }
}
