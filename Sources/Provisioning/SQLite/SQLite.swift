import CSQLite

/// A failed SQLite call: the extended result code, SQLite's message, and the statement, never bound values.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The extended result code (`sqlite3_extended_errcode`).
    public var code: Int32
    /// SQLite's own message (`sqlite3_errmsg`), read before any later call could overwrite it.
    public var message: String
    /// The SQL text of the statement that failed, if any. Bound values are never included.
    public var sql: String?

    public init(code: Int32, message: String, sql: String?) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    public var description: String { "SQLite error \(code): \(message)" + (sql.map { " in `\($0)`" } ?? "") }

    /// True when the error is a constraint violation (`SQLITE_CONSTRAINT` and its extended codes).
    public var isConstraint: Bool { code & 0xff == SQLITE_CONSTRAINT }
    /// True when another connection held a lock for longer than the busy timeout.
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
}

/// One open SQLite connection (`sqlite3*`), closed with `sqlite3_close_v2` when the last reference goes.
public final class SQLiteDatabase {
    /// How a connection is opened (`sqlite3_open_v2` flags).
    public enum Mode: Sendable {
        /// `SQLITE_OPEN_READONLY`: what the CGI uses for every lookup.
        case readOnly
        /// `SQLITE_OPEN_READWRITE`: the file must exist.
        case readWrite
        /// `SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE`.
        case create
    }

    let handle: OpaquePointer
    /// The handler's context of the last `setBusyWait`.
    var busyWait: BusyWait?
    /// The path the connection was opened with.
    public let path: String

    /// Opens `path` (`sqlite3_open_v2`) and sets a busy timeout in milliseconds (`sqlite3_busy_timeout`).
    public init(path: String, mode: Mode, busyTimeout: Int32 = 5000) throws(SQLiteError) {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        var db: OpaquePointer?
        let isNew = mode == .create && path != ":memory:" && !path.isEmpty && !FilePath.exists(path)
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message + " (\(path))", sql: nil)
        }
        self.handle = db
        self.path = path
        sqlite3_busy_timeout(db, busyTimeout)
        // A database file this open created is its owner's and its group's only (0640; SQLite's own default is
        // 0644 less the umask): the configuration holds keys and passwords, the journal who fetched what. Its
        // -wal and -shm files take the same mode from it. Still empty here, so nothing was readable meanwhile.
        if isNew { FilePath.setMode(path, 0o640) }
    }

    /// Opens a `file:` URI read-only (`SQLITE_OPEN_URI`), e.g. with `immutable=1`.
    public init(uri: String, busyTimeout: Int32 = 5000) throws(SQLiteError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message + " (\(uri))", sql: nil)
        }
        self.handle = db
        var path = uri.dropFirst(5)
        if let query = path.firstIndex(of: "?") { path = path[..<query] }
        self.path = String(path)
        sqlite3_busy_timeout(db, busyTimeout)
    }

    deinit { sqlite3_close_v2(handle) }

    /// `PRAGMA data_version`: changes whenever another connection commits to the file, so a long-lived reader
    /// can tell that what it read before may be out of date.
    public func dataVersion() throws(SQLiteError) -> Int {
        let statement = try prepare("PRAGMA data_version")
        guard try statement.step() else { return 0 }
        return statement.int(0)
    }

    /// Switches SQLite to single-thread mode without memory statistics (`sqlite3_config`), which saves the
    /// mutex and bookkeeping around every allocation. Call once, before any connection opens; false if too late.
    @discardableResult
    public static func configureForSingleThread() -> Bool { CSQLite_configureSingleThread() == SQLITE_OK }

    /// The error SQLite holds for this connection now.
    func lastError(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements that bind nothing and return nothing (`sqlite3_exec`).
    public func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorMessage)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: message, sql: sql)
        }
    }

    /// Compiles one statement (`sqlite3_prepare_v3`).
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, 0, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw lastError(rc, sql: sql) }
        return SQLiteStatement(statement: statement, database: self, sql: sql)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE` ... `COMMIT`; any error thrown rolls everything back.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Changes how long a call waits for another connection's lock, in milliseconds (`sqlite3_busy_timeout`).
    public func setBusyTimeout(_ milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }

    /// Waits for another connection's lock up to `milliseconds`, in 1 ms steps, and not at all once `stop` says
    /// so (`sqlite3_busy_handler`): the caller decides what cuts a wait short (the CGI and the FastCGI responder:
    /// SIGTERM, `Termination`). The wrapper knows nothing of signals.
    public func setBusyWait(_ milliseconds: Int32, stop: @escaping () -> Bool = { false }) {
        let wait = BusyWait(limit: Int(max(0, milliseconds)), stop: stop)
        busyWait = wait
        sqlite3_busy_handler(handle, { context, attempts in
            guard let context else { return 0 }
            let wait = Unmanaged<BusyWait>.fromOpaque(context).takeUnretainedValue()
            if Int(attempts) >= wait.limit || wait.stop() { return 0 }
            Clock.sleep(microseconds: 1000)
            return 1
        }, Unmanaged.passUnretained(wait).toOpaque())
    }

    /// The busy wait's limit and stop test, alive as long as the connection's handler may call it.
    final class BusyWait {
        let limit: Int
        let stop: () -> Bool
        init(limit: Int, stop: @escaping () -> Bool) {
            self.limit = limit
            self.stop = stop
        }
    }

    /// Copies every frame of the write-ahead log into the database and truncates the log to zero bytes
    /// (`sqlite3_wal_checkpoint_v2`, TRUNCATE). It waits for readers up to the busy timeout; busy is an error.
    public func checkpointAndTruncate() throws(SQLiteError) {
        let rc = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
        guard rc == SQLITE_OK else { throw lastError(rc, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// The rowid of the last row inserted on this connection (`sqlite3_last_insert_rowid`).
    public var lastInsertRowID: Int { Int(sqlite3_last_insert_rowid(handle)) }

    /// Rows changed by the last INSERT, UPDATE or DELETE (`sqlite3_changes`).
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// `PRAGMA user_version`, the schema's migration number.
    public func userVersion() throws(SQLiteError) -> Int {
        let statement = try prepare("PRAGMA user_version")
        return try statement.step() ? statement.int(0) : 0
    }
}

/// One compiled statement (`sqlite3_stmt*`), finalized when the last reference goes.
public final class SQLiteStatement {
    let statement: OpaquePointer
    let database: SQLiteDatabase
    let sql: String

    init(statement: OpaquePointer, database: SQLiteDatabase, sql: String) {
        self.statement = statement
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(statement) }

    /// Binds text, or NULL for `nil`, to the 1-based parameter `index` (`sqlite3_bind_text`).
    public func bind(_ index: Int32, _ value: String?) throws(SQLiteError) {
        let rc: Int32
        if let value {
            rc = sqlite3_bind_text(statement, index, value, -1, CSQLite_transient())
        } else {
            rc = sqlite3_bind_null(statement, index)
        }
        guard rc == SQLITE_OK else { throw database.lastError(rc, sql: sql) }
    }

    /// Binds an integer to the 1-based parameter `index` (`sqlite3_bind_int64`).
    public func bind(_ index: Int32, _ value: Int) throws(SQLiteError) {
        let rc = sqlite3_bind_int64(statement, index, sqlite3_int64(value))
        guard rc == SQLITE_OK else { throw database.lastError(rc, sql: sql) }
    }

    /// Binds bytes as a BLOB to the 1-based parameter `index` (`sqlite3_bind_blob`, copied).
    public func bind(_ index: Int32, blob value: [UInt8]) throws(SQLiteError) {
        let rc = value.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), CSQLite_transient()) }
        guard rc == SQLITE_OK else { throw database.lastError(rc, sql: sql) }
    }

    /// The 0-based column as bytes (a BLOB's or a text's), empty for NULL.
    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Binds each value in order, starting at parameter 1.
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .text(let text): try bind(index, text)
            case .integer(let number): try bind(index, number)
            case .null: try bind(index, nil as String?)
            }
        }
    }

    /// Advances to the next row (`sqlite3_step`); false when the statement is done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(statement)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.lastError(rc, sql: sql)
        }
    }

    /// Resets the statement for another run and clears its bindings.
    public func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    /// The 0-based column as text, `nil` for NULL (`sqlite3_column_text`).
    public func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// Appends the 0-based column's text to `bytes` (nothing for NULL), as `text(_:)` would decode it: bytes that
    /// are not UTF-8 become U+FFFD. No String is made unless the column has non-ASCII bytes.
    func appendText(_ column: Int32, to bytes: inout [UInt8]) {
        guard let pointer = sqlite3_column_text(statement, column) else { return }
        let buffer = UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(statement, column)))
        var ascii = true
        for byte in buffer where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii {
            bytes.append(contentsOf: buffer)
        } else {
            var text = String(decoding: buffer, as: UTF8.self)
            text.withUTF8 { bytes.append(contentsOf: $0) }
        }
    }

    /// The 0-based `ua` column as an `AccessCode`: `na`, `ro`, `rw`, or `none` for NULL or anything else.
    func accessCode(_ column: Int32) -> AccessCode {
        guard let pointer = sqlite3_column_text(statement, column), sqlite3_column_bytes(statement, column) == 2 else {
            return .none
        }
        switch (pointer[0], pointer[1]) {
        case (UInt8(ascii: "n"), UInt8(ascii: "a")): return .na
        case (UInt8(ascii: "r"), UInt8(ascii: "o")): return .ro
        case (UInt8(ascii: "r"), UInt8(ascii: "w")): return .rw
        default: return .none
        }
    }

    /// The 0-based `intent` column as a `LayerRows.intentCode`: 1 `empty`, 2 `keep`, 0 for NULL or anything else.
    func intentCode(_ column: Int32) -> Int {
        guard let pointer = sqlite3_column_text(statement, column) else { return 0 }
        switch (sqlite3_column_bytes(statement, column), pointer[0]) {
        case (5, UInt8(ascii: "e")): return 1
        case (4, UInt8(ascii: "k")): return 2
        default: return 0
        }
    }

    /// The 0-based column as an integer (`sqlite3_column_int64`); NULL reads as 0.
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(statement, column)) }

    /// True when the 0-based column is NULL.
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
}

/// A value to bind, for statements built with a list of parameters.
public enum SQLiteValue: Sendable, Equatable {
    case text(String)
    case integer(Int)
    case null
}
