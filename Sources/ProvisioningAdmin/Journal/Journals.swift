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

    /// The temporary views over the attached journals `names` (empty tables when there are none).
    func createJournalViews(_ names: [String]) throws(SQLiteError) {
        try database.execute("DROP VIEW IF EXISTS temp.seen; DROP VIEW IF EXISTS temp.claims; DROP VIEW IF EXISTS temp.fetches; DROP VIEW IF EXISTS temp.lost")
        // Every column list comes from the writer's definition (`Journal.schema`, read back: `JournalDefinition`).
        let definition = JournalDefinition.writer
        guard !names.isEmpty else {
            try database.execute("""
                CREATE TEMP VIEW seen AS \(definition.emptySelect("seen"));
                CREATE TEMP VIEW claims AS \(definition.emptySelect("claims"));
                CREATE TEMP VIEW fetches AS \(definition.emptySelect("fetches"));
                CREATE TEMP VIEW lost AS \(definition.emptySelect("lost"));
                """)
            return
        }
        func union(_ table: String, _ columns: String) -> String {
            names.map { "SELECT \(columns) FROM \($0).\(table)" }.joined(separator: " UNION ALL ")
        }
        let seenColumns = definition.columnList("seen")
        let claimColumns = definition.columnList("claims")
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
        let fetchColumns = definition.columnList("fetches", excluding: ["trusted"])
        var fetchSelects: [String] = []
        for name in names {
            let check = try database.prepare("SELECT count(*) FROM pragma_table_info('fetches', '\(name)') WHERE name = 'trusted'")
            let hasColumn = try check.step() && check.int(0) > 0
            fetchSelects.append("SELECT \(fetchColumns), "
                + (hasColumn ? "coalesce(trusted, cert_sha256 IS NOT NULL)" : "cert_sha256 IS NOT NULL") + " AS trusted FROM \(name).fetches")
        }
        try database.execute("""
            CREATE TEMP VIEW fetches AS \(fetchSelects.joined(separator: " UNION ALL "));
            CREATE TEMP VIEW lost AS \(union("lost", definition.columnList("lost")));
            """)
    }
}
