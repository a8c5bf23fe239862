import Foundation
import Provisioning
import Testing

@Suite("provctl --partition")
struct PartitionCommandTests {
    @Test("set, settings, render, unset and render --all with --partition")
    func partitions() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--model", "CP-8841-3PCC")
        try box.ok("device", "add", "000e08abcd01")
        try box.ok("set", "default", "Resync_Periodic=3600",
                   "Profile_Rule_B=https://prov.example.com/cgi-bin/profile/$MA-lines.xml")
        try box.ok("set", "device:000e08abcdef", "--partition", "lines", "User_ID_1_=1001", "Proxy_1_=sip.example.com")
        #expect(try box.sql("SELECT group_concat(part || ':' || name, ',') FROM (SELECT * FROM settings ORDER BY part, name)")
                == ":Profile_Rule_B,:Resync_Periodic,lines:Proxy_1_,lines:User_ID_1_")
        let listed = try box.ok("settings").text
        #expect(listed.contains("PARTITION") && listed.contains("lines"))
        let json = try #require(try box.ok("settings", "device:000e08abcdef", "--json").json() as? [[String: Any]])
        #expect(json.allSatisfy { $0["partition"] as? String == "lines" })

        let main = try box.ok("render", "000e08abcdef").text
        #expect(main.contains("Resync_Periodic") && !main.contains("User_ID_1_"))
        let lines = try box.ok("render", "000e08abcdef", "--partition", "lines").text
        #expect(lines == "<flat-profile>\n  <Proxy_1_>sip.example.com</Proxy_1_>\n  <User_ID_1_>1001</User_ID_1_>\n</flat-profile>\n")
        #expect(try box.provctl("render", "000e08abcd01", "--partition", "lines").status == 3, "no settings in it: 404 for the phone")
        #expect(try box.provctl("render", "000e08abcdef", "--partition", "Bad-Name").status == 64)
        #expect(try box.provctl("set", "default", "--partition", "a b", "X=1").status == 64)

        let out = box.path("all")
        let all = try box.ok("render", "--all", "--out", out, "--partition", "lines")
        #expect(all.text.contains("rendered 1 profile(s)") && all.text.contains("1 without settings in the partition skipped"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["000e08abcdef-lines.xml"])
        #expect(try String(contentsOfFile: out + "/000e08abcdef-lines.xml", encoding: .utf8) == lines)

        #expect(try box.provctl("unset", "device:000e08abcdef", "User_ID_1_").status == 3, "not in the main profile")
        try box.ok("unset", "device:000e08abcdef", "--partition", "lines", "User_ID_1_")
        #expect(try box.sql("SELECT count(*) FROM settings WHERE part = 'lines'") == "1")
        #expect(try box.ok("history").text.contains("partition lines"))
    }

    @Test("a database of schema 5 (before partitions) keeps its settings in the main profile after the migration")
    func migration() throws {
        let box = try Sandbox(initialise: false)
        // Schema 5's tables, as provctl init made them before partitions (6).
        _ = try run("sqlite3", [box.db, """
            CREATE TABLE settings (scope TEXT NOT NULL, target TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
                ua TEXT, PRIMARY KEY (scope, target, name)) WITHOUT ROWID;
            CREATE TABLE devices (mac TEXT NOT NULL PRIMARY KEY, serial TEXT, model TEXT, group_name TEXT,
                enabled INTEGER NOT NULL DEFAULT 1, gzip INTEGER NOT NULL DEFAULT 0, encryption TEXT NOT NULL DEFAULT 'none',
                encryption_key TEXT, kdf_digest TEXT NOT NULL DEFAULT 'sha256', ece_key_id TEXT NOT NULL DEFAULT '',
                ece_record_size INTEGER NOT NULL DEFAULT 4096, created_at INTEGER NOT NULL DEFAULT 0,
                updated_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
            CREATE TABLE variables (scope TEXT NOT NULL, target TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
                PRIMARY KEY (scope, target, name)) WITHOUT ROWID;
            CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
                target TEXT, old_value TEXT, new_value TEXT, first_change INTEGER, last_change INTEGER);
            CREATE TABLE changes (seq INTEGER PRIMARY KEY, audit_id INTEGER, tbl TEXT NOT NULL, old TEXT, new TEXT);
            INSERT INTO settings VALUES ('default', '', 'Resync_Periodic', '3600', 'na');
            INSERT INTO devices (mac) VALUES ('000e08abcdef');
            PRAGMA user_version = 5;
            """])
        try box.ok("init")
        #expect(try box.sql("PRAGMA user_version") == String(ConfigurationStore.schemaVersion))
        #expect(try box.sql("SELECT part || '|' || name || '|' || value || '|' || ua FROM settings") == "|Resync_Periodic|3600|na")
        #expect(try box.ok("render", "000e08abcdef").text.contains("<Resync_Periodic ua=\"na\">3600</Resync_Periodic>"))
    }
}
