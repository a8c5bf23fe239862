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

    func run() throws {
        let done = try BackupEngine.backup(try store.open(), to: file, journalPath: store.journals.local, withJournal: !noJournal)
        Output.emit(ChangeResult(action: "backup", message: "backed up \(done.devices) device(s) to \(file)"
                                 + (done.journal.map { " and the journal to \($0)" } ?? "")
                                 + String(format: " in %.2f s", done.seconds), count: done.devices,
                                 fields: [("database", .string(file)), ("journal", .text(done.journal))]), json: format.json)
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
        let (restored, safety) = try BackupEngine.restore(try store.open(), file: file, who: currentUser())
        let (devices, adopted, changeSet) = (restored.devices, restored.historyAdopted, restored.changeSet)
        Output.emit(ChangeResult(action: "restore", message: "restored \(devices) device(s) from \(file) (change set #\(changeSet ?? 0); "
                                 + "the previous configuration is saved as \(safety); provctl revert \(changeSet ?? 0) undoes the restore)",
                                 count: devices,
                                 fields: [("file", .string(file)), ("safety_backup", .string(safety)), ("change_set", .number(changeSet)),
                                          ("history_adopted", .bool(adopted))]), json: format.json)
    }
}
