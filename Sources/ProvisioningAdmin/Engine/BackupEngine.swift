public import Provisioning
import Foundation

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
    public static func isConfiguration(_ store: ConfigurationEditor) throws -> Bool {
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
    public static func restore(_ store: ConfigurationEditor, from backup: String, file: String, safety: String, who: String) throws -> Restored {
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
            // Every device's expected profile hash (`pending`), in the restore's transaction.
            try ExpectedProfiles.refresh(store)
            _ = try store.audit(who: who, action: "restore", target: nil, old: "saved as \(safety)",
                                new: "from \(file): \(restored.devices) device(s)", now: ConfigurationEditor.now())
            restored.changeSet = store.changeSet
        }
        return restored
    }

    /// Where a backup of the configuration at `file` puts the journal: FILE's `.db` ending replaced by `-journal.db`.
    public static func journalCopy(of file: String) -> String {
        (file.hasSuffix(".db") ? String(file.dropLast(3)) : file) + "-journal.db"
    }

    /// What a backup wrote: the configuration's copy, the journal's (nil when not asked or there is none), the
    /// devices, the seconds it took.
    public struct BackedUp: Sendable {
        public var file: String
        public var journal: String?
        public var devices: Int
        public var seconds: Double
    }

    /// `provctl backup`: the configuration (and, unless `withJournal` is false, this node's journal at
    /// `journalPath`) copied by `VACUUM INTO`, mode 0600; neither target may exist (backups never overwrite).
    public static func backup(_ store: ConfigurationEditor, to file: String, journalPath: String, withJournal: Bool) throws -> BackedUp {
        let journal = journalCopy(of: file)
        for target in withJournal ? [file, journal] : [file] where FileManager.default.fileExists(atPath: target) {
            throw AdminError(.conflict, "\(target): exists; backups never overwrite", field: "FILE")
        }
        let started = Date()
        let old = umask(0o077)
        defer { umask(old) }
        try vacuum(store.database, schema: "main", into: file)
        var copied: String?
        if withJournal, FileManager.default.fileExists(atPath: journalPath) {
            let source: SQLiteDatabase
            do {
                source = try SQLiteDatabase(path: journalPath, mode: .readOnly)
            } catch {
                throw AdminError(.runtime, "journal \(journalPath): \(error)", underlying: error)
            }
            try vacuum(source, schema: "main", into: journal)
            copied = journal
        }
        return BackedUp(file: file, journal: copied, devices: try store.deviceCount(), seconds: Date().timeIntervalSince(started))
    }

    /// `provctl restore`: `file` is copied beside the live database and checked to be a Provisioner database
    /// (an older schema upgraded on that copy), a safety copy of the live configuration is written beside it
    /// (NAME.before-restore-TIME.db, mode 0600), then `restore` replaces the configuration in one transaction.
    public static func restore(_ store: ConfigurationEditor, file: String, who: String) throws -> (Restored, safety: String) {
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw AdminError(.notFound, "FILE: \(file): no such readable file", field: "FILE")
        }
        let path = store.database.path
        let scratch = FilePath.directory(of: path) + "/.restore-\(getpid()).db"
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(scratch + suffix) }
        }
        do {
            try FileManager.default.copyItem(atPath: file, toPath: scratch)
        } catch {
            throw AdminError(.runtime, "\(file): \(error.localizedDescription)")
        }
        do {
            let copy = try ConfigurationEditor(path: scratch, mode: .readWrite)
            guard try isConfiguration(copy) else { throw AdminError(.refused, "\(file): not a Provisioner database", field: "FILE") }
        } catch let error as AdminError {
            throw error
        } catch {
            throw AdminError(.refused, "\(file): not a Provisioner database (\(error))", field: "FILE")
        }
        let stamp = utcTimestamp(ConfigurationEditor.now()).replacingOccurrences(of: ":", with: "")
        let safety = (path.hasSuffix(".db") ? String(path.dropLast(3)) : path) + ".before-restore-\(stamp).db"
        if FileManager.default.fileExists(atPath: safety) {
            throw AdminError(.conflict, "\(safety): exists (a restore in this second already); try again", field: "FILE")
        }
        do {
            let old = umask(0o077)
            defer { umask(old) }
            try vacuum(store.database, schema: "main", into: safety)
        }
        return (try restore(store, from: scratch, file: file, safety: safety, who: who), safety)
    }
}
