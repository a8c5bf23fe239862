public import Provisioning
import Foundation

/// The journal's tables as the journal writer defines them (`Journal.schema`, with every migration), read back from
/// an in-memory database made from that one definition: the shipper never holds a column list of its own, so a
/// column or table added to `Journal.schema` (or a migration it includes) is shipped without an edit here.
public struct JournalDefinition: Sendable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var type: String
        public var notNull: Bool
        public var defaultValue: String?
    }

    public struct Table: Sendable {
        public var name: String
        public var sql: String
        public var columns: [Column]
        /// The column by which new or changed rows are found (`shipMark`), nil for a table copied whole.
        public var mark: String?
    }

    public var tables: [Table]
    /// Indexes: (name, CREATE INDEX statement).
    public var indexes: [(name: String, sql: String)]

    /// The definition the journal writer uses.
    public static func current() throws(SQLiteError) -> JournalDefinition {
        try JournalDefinition(schema: Journal.schema)
    }

    /// The tables and indexes `schema` (SQL) makes.
    public init(schema: String) throws(SQLiteError) {
        let memory = try SQLiteDatabase(path: ":memory:", mode: .create)
        try memory.execute(schema)
        var tables: [Table] = []
        var indexes: [(name: String, sql: String)] = []
        let master = try memory.prepare("""
            SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
            ORDER BY type = 'index', name
            """)
        while try master.step() {
            let name = master.text(1) ?? "", sql = master.text(2) ?? ""
            if master.text(0) == "index" {
                indexes.append((name, sql))
            } else if master.text(0) == "table" {
                let columns = try Self.columns(of: name, schema: "main", in: memory)
                tables.append(Table(name: name, sql: sql, columns: columns, mark: Self.shipMark(columns.map(\.name))))
            }
        }
        self.tables = tables
        self.indexes = indexes
    }

    /// The columns of `table` in the attached database `schema` of `database` (empty when it has no such table).
    public static func columns(of table: String, schema: String, in database: SQLiteDatabase) throws(SQLiteError) -> [Column] {
        let info = try database.prepare("SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info(?1, ?2)")
        try info.bind(1, table)
        try info.bind(2, schema)
        var columns: [Column] = []
        while try info.step() {
            columns.append(Column(name: info.text(0) ?? "", type: info.text(1) ?? "", notNull: info.int(2) != 0,
                                  defaultValue: info.isNull(3) ? nil : info.text(3)))
        }
        return columns
    }

    /// The column by which a journal table's new or changed rows are found: the growing id of an append-only log
    /// (`fetches`, `phone_log`: `id` and `at`), else the time a row last changed (`seen`, `claims`: `last_seen`;
    /// `lost`: `last_at`; `reports`: `at`); nil for a table copied whole each time (`retention`, one row).
    public static func shipMark(_ columns: [String]) -> String? {
        if columns.contains("id") && columns.contains("at") { return "id" }
        return ["last_seen", "last_at", "at"].first { columns.contains($0) }
    }
}

/// What one shipping pass did.
public struct ShipCount: Sendable, Equatable {
    /// Rows written into the shipping copy, per table (inserted or replaced).
    public var rows: [String: Int] = [:]
    /// Columns added to the shipping copy's tables (the definition grew since the copy was made).
    public var addedColumns: [String] = []
    /// The definition's tables the node's journal does not have yet (an older journal), left for later.
    public var missingTables: [String] = []
    public var total: Int { rows.values.reduce(0, +) }
}

/// Copies the new and changed rows of a node's journal (written by profile-cgi, which checkpoints and truncates
/// its own log) into a shipping copy that only the shipper writes, in one ordinary transaction per pass and with no
/// checkpoint of its own: that copy is what `litestream replicate` sends home (Litestream 0.5.17 replicating the
/// live journal itself stopped after `read database page N: EOF`, docs/cluster.md finding 9).
///
/// The journal is read through `ATTACH … mode=ro`: a WAL reader, which never blocks the CGI's writes; the marks
/// (how far each table was shipped) live in the copy's own `shipped` table, committed with the rows they cover.
public final class JournalShipper {
    public let journalPath: String
    public let shipPath: String
    public let definition: JournalDefinition
    let out: SQLiteDatabase

    /// Opens (creating) the shipping copy. `busyTimeout`: how long a pass waits for SQLite's locks.
    public init(journal: String, ship: String, definition: JournalDefinition, busyTimeout: Int32 = 2000) throws(SQLiteError) {
        journalPath = journal
        shipPath = ship
        self.definition = definition
        out = try SQLiteDatabase(path: ship, mode: .create, busyTimeout: busyTimeout)
        try out.execute("PRAGMA journal_mode = WAL")
        // Litestream checkpoints this file; a checkpoint of ours would race its reads.
        try out.execute("PRAGMA wal_autocheckpoint = 0")
        try out.execute("CREATE TABLE IF NOT EXISTS shipped (name TEXT PRIMARY KEY, mark)")
    }

    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// One pass: the schema brought up to the definition, then every table's rows past its mark, in one
    /// transaction. Nothing is written when the journal does not exist yet (no phone has called).
    public func shipOnce() throws(SQLiteError) -> ShipCount {
        let uri = JournalFiles.readOnlyURI(journalPath)
        let attach = try out.prepare("ATTACH DATABASE ?1 AS journal")
        try attach.bind(1, uri)
        _ = try attach.step()
        defer { try? out.execute("DETACH DATABASE journal") }
        var count = ShipCount()
        try out.execute("BEGIN IMMEDIATE")
        do {
            try bringSchema(&count)
            for table in definition.tables { try ship(table, &count) }
            let version = try out.prepare("PRAGMA journal.user_version")
            let userVersion = try version.step() ? version.int(0) : 0
            let current = try out.prepare("PRAGMA main.user_version")
            if try !current.step() || current.int(0) != userVersion {
                try out.execute("PRAGMA main.user_version = \(userVersion)")
            }
            try out.execute("COMMIT")
        } catch {
            try? out.execute("ROLLBACK")
            throw error
        }
        return count
    }

    /// Creates the definition's tables and indexes the copy lacks, and adds the columns a table of the copy lacks
    /// (nullable, with the definition's default: `ALTER TABLE … ADD COLUMN` cannot add NOT NULL without one).
    func bringSchema(_ count: inout ShipCount) throws(SQLiteError) {
        for table in definition.tables {
            let existing = try JournalDefinition.columns(of: table.name, schema: "main", in: out)
            if existing.isEmpty {
                try out.execute(table.sql)
                continue
            }
            let have = Set(existing.map(\.name))
            for column in table.columns where !have.contains(column.name) {
                var sql = "ALTER TABLE main.\(Self.quoted(table.name)) ADD COLUMN \(Self.quoted(column.name)) \(column.type)"
                if let value = column.defaultValue { sql += " DEFAULT \(value)" + (column.notNull ? " NOT NULL" : "") }
                try out.execute(sql)
                count.addedColumns.append("\(table.name).\(column.name)")
            }
        }
        for index in definition.indexes {
            let exists = try out.prepare("SELECT 1 FROM main.sqlite_master WHERE type = 'index' AND name = ?1")
            try exists.bind(1, index.name)
            if try !exists.step() { try out.execute(index.sql) }
        }
    }

    func ship(_ table: JournalDefinition.Table, _ count: inout ShipCount) throws(SQLiteError) {
        // The columns of the definition the node's journal has (an older journal may lack a newer column: the copy
        // keeps its default there).
        let present = Set(try JournalDefinition.columns(of: table.name, schema: "journal", in: out).map(\.name))
        guard !present.isEmpty else {
            count.missingTables.append(table.name)
            return
        }
        let columns = table.columns.map(\.name).filter { present.contains($0) }
        let list = columns.map(Self.quoted).joined(separator: ", ")
        let name = Self.quoted(table.name)
        let mark = table.mark.flatMap { present.contains($0) ? $0 : nil }
        var last: Int? = nil
        if mark != nil {
            let read = try out.prepare("SELECT mark FROM shipped WHERE name = ?1")
            try read.bind(1, table.name)
            if try read.step(), !read.isNull(0) { last = read.int(0) }
        }
        // An append-only log's id only grows: the rows past the mark. A time of last change may repeat within a
        // second: the rows from the mark on, less those the copy already holds as they are (so that an idle journal
        // makes no write, and Litestream has nothing to send). A table without a mark: every row that differs.
        var sql = "INSERT OR REPLACE INTO main.\(name) (\(list)) SELECT \(list) FROM journal.\(name)"
        if let column = mark, last != nil, column == "id" {
            sql += " WHERE \(Self.quoted(column)) > ?1"
        } else {
            let since = mark.flatMap { last == nil ? nil : " WHERE \(Self.quoted($0)) >= ?1" } ?? ""
            sql += since + " EXCEPT SELECT \(list) FROM main.\(name)" + since
        }
        let insert = try out.prepare(sql)
        if let last { try insert.bind(1, last) }
        _ = try insert.step()
        count.rows[table.name, default: 0] += out.changes
        if let column = mark {
            let save = try out.prepare("""
                INSERT OR REPLACE INTO shipped (name, mark) SELECT ?1, m FROM (SELECT max(\(Self.quoted(column))) AS m FROM journal.\(name))
                WHERE m IS NOT (SELECT mark FROM shipped WHERE name = ?1)
                """)
            try save.bind(1, table.name)
            _ = try save.step()
        }
    }
}
