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
        let reportColumns = "mac, node, at, name, remote_addr, encoding, received_bytes, sha256, body"
        let logColumns = "id, at, mac, kind, message, host, imported_at"
        guard !withReports.isEmpty else {
            try database.execute("""
                CREATE TEMP VIEW reports AS SELECT '' AS mac, '' AS node, 0 AS at, NULL AS name, NULL AS remote_addr, '' AS encoding, 0 AS received_bytes, '' AS sha256, x'' AS body WHERE 0;
                CREATE TEMP VIEW phone_log AS SELECT 0 AS id, 0 AS at, '' AS mac, '' AS kind, '' AS message, NULL AS host, 0 AS imported_at WHERE 0;
                """)
            return
        }
        func union(_ table: String, _ columns: String) -> String {
            withReports.map { "SELECT \(columns) FROM \($0).\(table)" }.joined(separator: " UNION ALL ")
        }
        // The bare columns beside max(at) come from the newest row.
        try database.execute("""
            CREATE TEMP VIEW reports AS SELECT mac, node, max(at) AS at, name, remote_addr, encoding, received_bytes, sha256, body
                FROM (\(union("reports", reportColumns))) GROUP BY mac;
            CREATE TEMP VIEW phone_log AS \(union("phone_log", logColumns));
            """)
    }
}
