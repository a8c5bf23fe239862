public import Provisioning

/// Backup and restore of the configuration database: the copy (`VACUUM INTO`, one read snapshot while phones
/// are served) and the restore (every device, setting and variable replaced in one transaction, audited and
/// undoable).
public enum BackupEngine {
    /// Writes a consistent copy of `schema` of `database` to `path` (which must not exist).
    public static func vacuum(_ database: SQLiteDatabase, schema: String, into path: String) throws {
        let statement = try database.prepare("VACUUM \(schema) INTO ?1")
        try statement.bind(1, path)
        do {
            _ = try statement.step()
        } catch {
            throw AdminError(.runtime, "backup to \(path): \(error)", underlying: error)
        }
    }

    /// True when the database at `path` has the tables of a Provisioner configuration.
    public static func isConfiguration(_ store: DeviceStore) throws -> Bool {
        let check = try store.database.prepare("SELECT count(*) FROM sqlite_master WHERE name IN ('devices', 'settings', 'variables', 'audit')")
        return try check.step() && check.int(0) == 4
    }

    /// What a restore did: the devices it brought, whether the backup's history was taken over (a database
    /// without history), and the change set of the restore's own entry.
    public struct Restored: Sendable {
        public var devices: Int
        public var historyAdopted: Bool
        public var changeSet: Int?
    }

    /// Replaces the devices, settings and variables of `store` with those of the database at `backup` in one
    /// transaction; the history is kept (taken over from the backup only by a database without history). The
    /// restore is audited as `who`, naming `file` and the safety copy `safety`, and can be reverted.
    public static func restore(_ store: DeviceStore, from backup: String, file: String, safety: String, who: String) throws -> Restored {
        let attach = try store.database.prepare("ATTACH DATABASE ?1 AS restored")
        try attach.bind(1, backup)
        try attach.step()
        defer { try? store.database.execute("DETACH DATABASE restored") }
        var restored = Restored(devices: 0, historyAdopted: false, changeSet: nil)
        try store.database.transaction {
            // A database without history (a new node) takes over the backup's; any other keeps its own, which
            // only grows, so no ID is ever reused.
            let count = try store.database.prepare("SELECT count(*) FROM main.audit")
            if try count.step(), count.int(0) == 0 {
                try store.database.execute("""
                    DELETE FROM main.changes; INSERT INTO main.changes SELECT * FROM restored.changes;
                    INSERT INTO main.audit SELECT * FROM restored.audit;
                    """)
                restored.historyAdopted = true
            }
            // The undo triggers record every row replaced: the restore's entry owns them, so it can be reverted.
            try store.startUndoRange()
            store.startChangeSet()
            for table in ["devices", "settings", "variables"] {
                try store.database.execute("DELETE FROM main.\(table); INSERT INTO main.\(table) SELECT * FROM restored.\(table)")
            }
            restored.devices = try store.deviceCount()
            _ = try store.audit(who: who, action: "restore", target: nil, old: "saved as \(safety)",
                                new: "from \(file): \(restored.devices) device(s)", now: DeviceStore.now())
            restored.changeSet = store.changeSet
        }
        return restored
    }
}
