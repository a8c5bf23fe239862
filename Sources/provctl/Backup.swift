import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the database, and of this node's journal, while phones are served.",
        discussion: """
            Uses SQLite's VACUUM INTO, which reads one snapshot of the database in a read transaction: phones keep \
            being answered and provctl changes wait at most for the copy. FILE gets the configuration (devices, \
            settings, variables, history and the undo log, keys included: it is written mode 0600); the journal \
            goes beside it as FILE-journal.db (FILE's .db ending replaced), unless --no-journal. Neither file may \
            exist yet. Restore with provctl restore FILE.
            Example: provctl backup /var/backups/provisioner/$(date +%F).db
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption
    @Argument(help: "The file to write (must not exist).") var file: String
    @Flag(help: "Copy only the configuration, not the journal.") var noJournal = false

    static func journalCopy(of file: String) -> String {
        (file.hasSuffix(".db") ? String(file.dropLast(3)) : file) + "-journal.db"
    }

    func run() throws {
        let opened = try store.open()
        let journal = Self.journalCopy(of: file)
        for target in noJournal ? [file] : [file, journal] where FileManager.default.fileExists(atPath: target) {
            throw Failure(.conflict, "\(target): exists; backups never overwrite", field: "FILE")
        }
        let started = Date()
        let old = umask(0o077)
        defer { umask(old) }
        try vacuum(opened.database, schema: "main", into: file)
        var copied: [(String, JSON)] = [("database", .string(file))]
        let local = store.journals.local
        if !noJournal, FileManager.default.fileExists(atPath: local) {
            let source: SQLiteDatabase
            do {
                source = try SQLiteDatabase(path: local, mode: .readOnly)
            } catch {
                throw Failure(.runtime, "journal \(local): \(error)")
            }
            try vacuum(source, schema: "main", into: journal)
            copied.append(("journal", .string(journal)))
        } else {
            copied.append(("journal", .null))
        }
        let seconds = Date().timeIntervalSince(started)
        let devices = try opened.deviceCount()
        Output.emit(ChangeResult(action: "backup", message: "backed up \(devices) device(s) to \(file)"
                                 + (copied[1].1 == .null ? "" : " and the journal to \(journal)")
                                 + String(format: " in %.2f s", seconds), count: devices,
                                 fields: copied), json: format.json)
    }

    func vacuum(_ database: SQLiteDatabase, schema: String, into path: String) throws {
        let statement = try database.prepare("VACUUM \(schema) INTO ?1")
        try statement.bind(1, path)
        do {
            _ = try statement.step()
        } catch {
            throw Failure(.runtime, "backup to \(path): \(error)")
        }
    }
}

extension JSON: Equatable {
    static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.string(let a), .string(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        default: false
        }
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the configuration with a backup's (devices, settings, variables, history), in one transaction.",
        discussion: """
            FILE is a file provctl backup wrote (or any copy of a Provisioner database); an older schema is \
            upgraded on a temporary copy first. The live database is rewritten inside one transaction, so phones \
            served meanwhile get either the old or the restored configuration, never a mix. The journal (what \
            phones did) is not touched. Asks for --yes. The restore itself is recorded in the history.
            Example: provctl restore /var/backups/provisioner/2026-12-01.db --yes
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption
    @Argument(help: "The backup file.") var file: String
    @Flag(help: "Confirm: the current configuration is replaced.") var yes = false

    func run() throws {
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw Failure(.notFound, "FILE: \(file): no such readable file", field: "FILE")
        }
        guard yes else {
            throw Failure(.usage, "restore replaces every device, setting and variable: add --yes to confirm",
                          field: "--yes", rule: "restore needs --yes")
        }
        let opened = try store.open()
        let scratch = FilePath.directory(of: opened.database.path) + "/.restore-\(getpid()).db"
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(scratch + suffix) }
        }
        do {
            try FileManager.default.copyItem(atPath: file, toPath: scratch)
        } catch {
            throw Failure(.runtime, "\(file): \(error.localizedDescription)")
        }
        do {
            let copy = try DeviceStore(path: scratch, mode: .readWrite)
            let check = try copy.database.prepare("SELECT count(*) FROM sqlite_master WHERE name IN ('devices', 'settings', 'variables', 'audit')")
            guard try check.step(), check.int(0) == 4 else { throw Failure(.refused, "\(file): not a Provisioner database", field: "FILE") }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(.refused, "\(file): not a Provisioner database (\(error))", field: "FILE")
        }
        let attach = try opened.database.prepare("ATTACH DATABASE ?1 AS restored")
        try attach.bind(1, scratch)
        try attach.step()
        defer { try? opened.database.execute("DETACH DATABASE restored") }
        var devices = 0
        try opened.database.transaction {
            for table in ["devices", "settings", "variables"] {
                try opened.database.execute("DELETE FROM main.\(table); INSERT INTO main.\(table) SELECT * FROM restored.\(table)")
            }
            // The history and undo log are the backup's: what the deletes and inserts above logged is dropped.
            try opened.database.execute("""
                DELETE FROM main.changes; INSERT INTO main.changes SELECT * FROM restored.changes;
                DELETE FROM main.audit; INSERT INTO main.audit SELECT * FROM restored.audit;
                """)
            devices = try opened.deviceCount()
            try opened.audit(who: currentUser(), action: "restore", target: nil, old: nil, new: "from \(file): \(devices) device(s)",
                             now: DeviceStore.now())
        }
        Output.emit(ChangeResult(action: "restore", message: "restored \(devices) device(s) from \(file)", count: devices,
                                 fields: [("file", .string(file))]), json: format.json)
    }
}
