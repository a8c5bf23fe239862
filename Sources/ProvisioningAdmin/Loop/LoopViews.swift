import Provisioning

/// The journal tables of version 2 as fleet-wide views: `reports` (the newest report per device over every
/// node) and `phone_log` (every node's imported lines). A journal still at version 1 (a node not upgraded yet)
/// has neither table and is left out of them.
extension JournalReader {
    func createLoopViews(_ names: [String]) throws(SQLiteError) {
        try database.execute("DROP VIEW IF EXISTS temp.reports; DROP VIEW IF EXISTS temp.phone_log")
        var withReports: [String] = []
        for name in names {
            let check = try database.prepare("SELECT count(*) FROM \(name).sqlite_master WHERE name = 'reports'")
            if try check.step(), check.int(0) > 0 { withReports.append(name) }
        }
        // The columns as the writer defines them (`Journal.schema`, `columns`).
        let reportColumns = Self.columnList("reports")
        let logColumns = Self.columnList("phone_log")
        guard !withReports.isEmpty else {
            try database.execute("""
                CREATE TEMP VIEW reports AS \(Self.emptySelect("reports"));
                CREATE TEMP VIEW phone_log AS \(Self.emptySelect("phone_log"));
                """)
            return
        }
        func union(_ table: String, _ columns: String) -> String {
            withReports.map { "SELECT \(columns) FROM \($0).\(table)" }.joined(separator: " UNION ALL ")
        }
        // The bare columns beside max(at) come from the newest row.
        try database.execute("""
            CREATE TEMP VIEW reports AS SELECT \(Self.columnList("reports", expressions: ["at": "max(at) AS at"]))
                FROM (\(union("reports", reportColumns))) GROUP BY mac;
            CREATE TEMP VIEW phone_log AS \(union("phone_log", logColumns));
            """)
    }
}
