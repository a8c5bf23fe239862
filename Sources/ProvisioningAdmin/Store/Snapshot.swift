public import Provisioning
import CSQLite
import Foundation

/// A consistent copy of a SQLite file made with SQLite's online backup API (`sqlite3_backup_*`) from a read-only
/// connection, under the source's SHARED lock: what the replica keeper publishes for readers that keep their
/// connection open (docs/cluster.md, publish mode). The copy is left in rollback mode (`journal_mode=DELETE`), so
/// its readers make no `-shm` beside it.
public enum Snapshot {
    /// Copies `source` into `target` (a new file; an existing one is overwritten). Throws SQLite's error.
    public static func copy(from source: String, to target: String, busyTimeout: Int32 = 10_000) throws(SQLiteError) {
        var from: OpaquePointer?
        let uri = JournalFiles.readOnlyURI(source)
        var rc = sqlite3_open_v2(uri, &from, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nil)
        defer { if let from { sqlite3_close_v2(from) } }
        guard rc == SQLITE_OK, let from else { throw failure(from, rc, "open \(source)") }
        sqlite3_busy_timeout(from, busyTimeout)
        var to: OpaquePointer?
        rc = sqlite3_open_v2(target, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        defer { if let to { sqlite3_close_v2(to) } }
        guard rc == SQLITE_OK, let to else { throw failure(to, rc, "open \(target)") }
        guard let backup = sqlite3_backup_init(to, "main", from, "main") else { throw failure(to, SQLITE_ERROR, "backup") }
        // -1: every page in one step, so the copy is of one state of the source (one read transaction).
        rc = sqlite3_backup_step(backup, -1)
        let finish = sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE, finish == SQLITE_OK else { throw failure(to, rc == SQLITE_DONE ? finish : rc, "backup") }
        rc = sqlite3_exec(to, "PRAGMA journal_mode = DELETE", nil, nil, nil)
        guard rc == SQLITE_OK else { throw failure(to, rc, "journal_mode") }
    }

    static func failure(_ database: OpaquePointer?, _ rc: Int32, _ what: String) -> SQLiteError {
        let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
        return SQLiteError(code: rc, message: "\(what): \(message)", sql: nil)
    }
}
