/// The one migration scheme of every SQLite file here (the configuration database, the journal, `auth.db`):
/// named steps in order, `PRAGMA user_version` counting the steps a file has had, each step in its own
/// transaction (`BEGIN IMMEDIATE`) with the version it reaches set inside it. The shape of GRDB's
/// `DatabaseMigrator` (`registerMigration("…") { db in … }`), kept to what these files need: no table of applied
/// names (the version is the count, as the files made by earlier releases already say), no foreign-key checks.
///
/// Several processes may open a file at once (two CGI processes writing a new journal): each step reads the
/// version again inside its transaction and skips itself when another process applied it meanwhile.
public struct SQLiteMigrator: Sendable {
    /// One step: its name (for errors and `provctl init`'s messages) and what it does to the file.
    public struct Step: Sendable {
        public let name: String
        let apply: @Sendable (SQLiteDatabase) throws(SQLiteError) -> Void
    }

    /// What the file is (`configuration`, `journal`, `auth`), for errors.
    public let file: String
    public private(set) var steps: [Step] = []
    /// Whether a file with steps pending is switched to WAL first (outside a transaction, where SQLite allows it).
    public var switchesToWAL: Bool

    public init(file: String, switchesToWAL: Bool = true) {
        self.file = file
        self.switchesToWAL = switchesToWAL
    }

    /// The version a file has once every step ran.
    public var version: Int { steps.count }

    /// Adds the next step, as SQL.
    public mutating func registerMigration(_ name: String, sql: String) {
        steps.append(Step(name: name) { database throws(SQLiteError) in try database.execute(sql) })
    }

    /// Adds the next step, as code on the connection (inside the step's transaction).
    public mutating func registerMigration(_ name: String, _ apply: @escaping @Sendable (SQLiteDatabase) throws(SQLiteError) -> Void) {
        steps.append(Step(name: name, apply: apply))
    }

    /// Runs the steps the file has not had yet, each in its own transaction; returns the version before and after.
    /// A file newer than `version` is an error (this build does not know its tables).
    @discardableResult
    public func migrate(_ database: SQLiteDatabase) throws(SQLiteError) -> (from: Int, to: Int) {
        let from = try database.userVersion()
        guard from <= version else {
            throw SQLiteError(code: 0, message: "\(file): schema version \(from) is newer than this build (\(version))", sql: nil)
        }
        guard from < version else { return (from, version) }
        if switchesToWAL { try database.execute("PRAGMA journal_mode = WAL") }
        for (index, step) in steps.enumerated() where index >= from {
            try database.execute("BEGIN IMMEDIATE")
            do {
                // Another process may have run it since the version was read.
                if try database.userVersion() <= index {
                    try step.apply(database)
                    try database.execute("PRAGMA user_version = \(index + 1)")
                }
                try database.execute("COMMIT")
            } catch {
                try? database.execute("ROLLBACK")
                throw SQLiteError(code: error.code, message: "\(file) migration \(index + 1) (\(step.name)): \(error.message)", sql: error.sql)
            }
        }
        return (from, version)
    }
}
