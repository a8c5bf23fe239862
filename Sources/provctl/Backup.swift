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
        try Self.vacuum(opened.database, schema: "main", into: file)
        var copied: [(String, JSON)] = [("database", .string(file))]
        let local = store.journals.local
        if !noJournal, FileManager.default.fileExists(atPath: local) {
            let source: SQLiteDatabase
            do {
                source = try SQLiteDatabase(path: local, mode: .readOnly)
            } catch {
                throw Failure(.runtime, "journal \(local): \(error)", underlying: error)
            }
            try Self.vacuum(source, schema: "main", into: journal)
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

    static func vacuum(_ database: SQLiteDatabase, schema: String, into path: String) throws {
        try BackupEngine.vacuum(database, schema: schema, into: path)
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
            phones did) is not touched. Asks for --yes. First a safety backup of the database as it is goes \
            beside it (NAME.before-restore-TIME.db, mode 0600; its path is printed). The history only grows: it \
            is kept (the backup's history is taken over only by a database that has none), and the restore is a \
            change set of its own, which provctl revert ID undoes like any other.
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
            guard try BackupEngine.isConfiguration(copy) else { throw Failure(.refused, "\(file): not a Provisioner database", field: "FILE") }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(.refused, "\(file): not a Provisioner database (\(error))", field: "FILE")
        }
        // A safety copy of what is about to be replaced, beside the database.
        let stamp = timestamp(DeviceStore.now()).replacingOccurrences(of: ":", with: "")
        let path = opened.database.path
        let safety = (path.hasSuffix(".db") ? String(path.dropLast(3)) : path) + ".before-restore-\(stamp).db"
        if FileManager.default.fileExists(atPath: safety) {
            throw Failure(.conflict, "\(safety): exists (a restore in this second already); try again", field: "FILE")
        }
        do {
            let old = umask(0o077)
            defer { umask(old) }
            try Backup.vacuum(opened.database, schema: "main", into: safety)
        }
        let restored = try BackupEngine.restore(opened, from: scratch, file: file, safety: safety, who: currentUser())
        let (devices, adopted, changeSet) = (restored.devices, restored.historyAdopted, restored.changeSet)
        Output.emit(ChangeResult(action: "restore", message: "restored \(devices) device(s) from \(file) (change set #\(changeSet ?? 0); "
                                 + "the previous configuration is saved as \(safety); provctl revert \(changeSet ?? 0) undoes the restore)",
                                 count: devices,
                                 fields: [("file", .string(file)), ("safety_backup", .string(safety)), ("change_set", .number(changeSet)),
                                          ("history_adopted", .bool(adopted))]), json: format.json)
    }
}
