public import Provisioning
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// provctl's view of the journals: this node's (`PROVISIONER_JOURNAL`, default `journal.db` beside the
/// configuration database) and every other node's brought home into a folder (`PROVISIONER_JOURNALS_DIR`, default
/// `journals/` beside the configuration database). Each is ATTACHed to the configuration connection read-only and
/// the temporary views `seen`, `claims` and `fetches` span them all, so the admin's queries read the whole fleet;
/// each row keeps the `node` that wrote it. With no journal at all, the views are empty.
public struct JournalFiles: Sendable, Equatable {
    /// This node's journal.
    public var local: String
    /// The folder of other nodes' journals.
    public var folder: String

    public init(local: String, folder: String) {
        self.local = local
        self.folder = folder
    }

    /// The paths for a configuration database, from `PROVISIONER_JOURNAL` and `PROVISIONER_JOURNALS_DIR` when set.
    public init(databasePath: String, environment: [String: String]) {
        let folder = FilePath.directory(of: databasePath)
        local = environment["PROVISIONER_JOURNAL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Configuration.defaultJournalPath(databasePath: databasePath)
        self.folder = environment["PROVISIONER_JOURNALS_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((folder == "/" ? "" : folder) + "/journals")
    }

    /// A `file:` URI that opens `path` read-only (`mode=ro`), with the characters a URI gives meaning escaped.
    public static func readOnlyURI(_ path: String) -> String {
        "file:" + path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3f")
            .replacingOccurrences(of: "#", with: "%23") + "?mode=ro"
    }

    /// The journal files that exist: the local one first, then the folder's `*.db` in name order. SQLite attaches
    /// at most 10 databases; past that the rest are left out (`skipped`).
    public func existing() -> (files: [String], skipped: [String]) {
        var files: [String] = []
        if FileStamp.of(local) != nil { files.append(local) }
        var others: [String] = []
        if let directory = opendir(folder) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard name.hasSuffix(".db"), !name.hasPrefix(".") else { continue }
                let path = folder + "/" + name
                if path != local { others.append(path) }
            }
            closedir(directory)
        }
        others.sort()
        let room = max(0, 10 - files.count)
        return (files + others.prefix(room), Array(others.dropFirst(room)))
    }
}

/// The journals' reader: attaches this node's journal and those brought home from other nodes, read-only, to
/// the admin's connection, and makes the fleet-wide TEMP views (`seen`, `claims`, `fetches`, `lost`, `reports`,
/// `phone_log`) every journal read goes through. It owns the ATTACH: nothing else attaches a journal.
public struct JournalReader {
    /// The connection the journals are attached to (a `ConfigurationEditor`'s).
    public let database: SQLiteDatabase
    /// The schema names of the journals attached (`j0`, `j1`, ...), empty when none is.
    public private(set) var attached: [String] = []

    /// A reader with no journal attached: its views do not exist yet.
    init(database: SQLiteDatabase) {
        self.database = database
    }

    /// Attaches the journals that exist and creates the fleet-wide views. Once per connection.
    public init(attaching journals: JournalFiles, to database: SQLiteDatabase) throws(SQLiteError) {
        self.database = database
        let (files, _) = journals.existing()
        var names: [String] = []
        for (index, file) in files.enumerated() {
            let statement = try database.prepare("ATTACH DATABASE ?1 AS ?2")
            let uri = JournalFiles.readOnlyURI(file)
            try statement.bind(1, uri)
            try statement.bind(2, "j\(index)")
            do {
                try statement.step()
            } catch {
                continue
            }
            // A journal that is not one yet (a file not written to) has no tables: leave it out.
            let check = try database.prepare("SELECT count(*) FROM j\(index).sqlite_master WHERE name = 'fetches'")
            if try check.step(), check.int(0) > 0 { names.append("j\(index)") } else {
                try? database.execute("DETACH DATABASE j\(index)")
            }
        }
        try createJournalViews(names)
        try createLoopViews(names)
        attached = names
    }

    /// The columns of each journal table, by table, in `Journal.schema`'s order: read from its text (its own
    /// literal: `name TYPE ...` items of each CREATE TABLE, the constraint items left out), because making the
    /// schema in a database to ask SQLite (`JournalDefinition`, what the shipper does once per process) cost 3.6M
    /// instructions, 6% of a `provctl claims`. A test checks both readings agree.
    static let columns: [String: [String]] = columnNames(inSchema: Journal.schema)

    static func columnNames(inSchema schema: String) -> [String: [String]] {
        // Over bytes: walking Characters (grapheme breaking) cost as much as asking SQLite.
        let bytes = Array(schema.utf8)
        let prefix = Array("CREATE TABLE IF NOT EXISTS ".utf8)
        let constraints: Set<String> = ["PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT"]
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x09 }
        func firstWord(_ start: Int, _ end: Int) -> String? {
            var i = start
            while i < end && isSpace(bytes[i]) { i += 1 }
            var j = i
            while j < end && !isSpace(bytes[j]) && bytes[j] != UInt8(ascii: "(") { j += 1 }
            return i < j ? String(decoding: bytes[i..<j], as: UTF8.self) : nil
        }
        var tables: [String: [String]] = [:]
        var at = 0
        while at + prefix.count <= bytes.count {
            guard bytes[at..<(at + prefix.count)].elementsEqual(prefix) else { at += 1; continue }
            var open = at + prefix.count
            while open < bytes.count && bytes[open] != UInt8(ascii: "(") { open += 1 }
            guard let name = firstWord(at + prefix.count, open) else { break }
            // The items between the outer parentheses, split at commas outside inner parentheses.
            var columns: [String] = [], start = open + 1, depth = 0, i = open + 1
            while i < bytes.count {
                let byte = bytes[i]
                if byte == UInt8(ascii: "(") { depth += 1 }
                if byte == UInt8(ascii: ")") { if depth == 0 { break }; depth -= 1 }
                if byte == UInt8(ascii: ",") && depth == 0 {
                    if let column = firstWord(start, i), !constraints.contains(column) { columns.append(column) }
                    start = i + 1
                }
                i += 1
            }
            if let column = firstWord(start, i), !constraints.contains(column) { columns.append(column) }
            tables[name] = columns
            at = i
        }
        return tables
    }

    /// `table`'s columns (without `excluding`), comma-separated, a column of `expressions` as its expression there.
    static func columnList(_ table: String, excluding: Set<String> = [], expressions: [String: String] = [:]) -> String {
        (columns[table] ?? []).filter { !excluding.contains($0) }.map { expressions[$0] ?? $0 }.joined(separator: ", ")
    }

    /// A SELECT with `table`'s columns and no row: what a reader queries when no journal has the table.
    static func emptySelect(_ table: String) -> String {
        "SELECT " + (columns[table] ?? []).map { "NULL AS " + $0 }.joined(separator: ", ") + " WHERE 0"
    }

    /// The temporary views over the attached journals `names` (empty tables when there are none).
    func createJournalViews(_ names: [String]) throws(SQLiteError) {
        try database.execute("DROP VIEW IF EXISTS temp.seen; DROP VIEW IF EXISTS temp.claims; DROP VIEW IF EXISTS temp.fetches; DROP VIEW IF EXISTS temp.lost")
        // Every column list comes from the writer's definition (`Journal.schema`, `columns`).
        guard !names.isEmpty else {
            try database.execute("""
                CREATE TEMP VIEW seen AS \(Self.emptySelect("seen"));
                CREATE TEMP VIEW claims AS \(Self.emptySelect("claims"));
                CREATE TEMP VIEW fetches AS \(Self.emptySelect("fetches"));
                CREATE TEMP VIEW lost AS \(Self.emptySelect("lost"));
                """)
            return
        }
        func union(_ table: String, _ columns: String) -> String {
            names.map { "SELECT \(columns) FROM \($0).\(table)" }.joined(separator: " UNION ALL ")
        }
        let seenColumns = Self.columnList("seen")
        let claimColumns = Self.columnList("claims")
        if names.count == 1 {
            try database.execute("""
                CREATE TEMP VIEW seen AS SELECT \(seenColumns) FROM \(names[0]).seen;
                CREATE TEMP VIEW claims AS SELECT \(claimColumns) FROM \(names[0]).claims;
                """)
        } else {
            // One row per device: the newest node's address and firmware, the first and last time over the fleet,
            // the counts added up. (A bare column beside max() comes from the row with the maximum.)
            try database.execute("""
                CREATE TEMP VIEW seen AS
                    SELECT mac, node, (SELECT min(f.first_seen) FROM (\(union("seen", "mac, first_seen"))) f WHERE f.mac = s.mac) AS first_seen,
                        max(last_seen) AS last_seen, remote_addr, firmware,
                        (SELECT sum(f.count) FROM (\(union("seen", "mac, count"))) f WHERE f.mac = s.mac) AS count
                    FROM (\(union("seen", seenColumns))) s GROUP BY mac;
                CREATE TEMP VIEW claims AS
                    SELECT mac, node, serial, model, remote_addr, user_agent,
                        (SELECT min(f.first_seen) FROM (\(union("claims", "mac, first_seen"))) f WHERE f.mac = c.mac) AS first_seen,
                        max(last_seen) AS last_seen,
                        (SELECT sum(f.count) FROM (\(union("claims", "mac, count"))) f WHERE f.mac = c.mac) AS count
                    FROM (\(union("claims", claimColumns))) c GROUP BY mac;
                """)
        }
        // `trusted`: the row's own (journal version 3), else, for a row written before, only a fetch that presented
        // a certificate counts as proven (an older journal did not record how an account or bootstrap caller came).
        let fetchColumns = Self.columnList("fetches", excluding: ["trusted"])
        var fetchSelects: [String] = []
        for name in names {
            let check = try database.prepare("SELECT count(*) FROM pragma_table_info('fetches', '\(name)') WHERE name = 'trusted'")
            let hasColumn = try check.step() && check.int(0) > 0
            fetchSelects.append("SELECT \(fetchColumns), "
                + (hasColumn ? "coalesce(trusted, cert_sha256 IS NOT NULL)" : "cert_sha256 IS NOT NULL") + " AS trusted FROM \(name).fetches")
        }
        try database.execute("""
            CREATE TEMP VIEW fetches AS \(fetchSelects.joined(separator: " UNION ALL "));
            CREATE TEMP VIEW lost AS \(union("lost", Self.columnList("lost")));
            """)
    }
}
