import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing

/// Issue 14, "The admin's day": JSON for scripts, saves that cannot break a phone, bulk work, undo, readable dry
/// runs, backup and restore.
@Suite("provctl: the admin's day")
struct AdminDayTests {
    /// The error object of a failed --json run.
    func jsonError(_ outcome: ProcessOutcome) throws -> [String: Any] {
        let object = try #require(try outcome.json() as? [String: Any], "\(outcome)")
        return try #require(object["error"] as? [String: Any], "\(outcome)")
    }

    @Test("the migrations and ConfigurationStore.schemaVersion agree; init on a new file says it created it")
    func schema() throws {
        #expect(ConfigurationEditor.migrations.count == ConfigurationStore.schemaVersion)
        let box = try Sandbox(initialise: false)
        let created = try box.ok("init", "--json").json() as? [String: Any]
        #expect(created?["created"] as? Bool == true)
        #expect((created?["message"] as? String)?.hasPrefix("created the database") == true)
        #expect(try box.ok("init").text.contains("up to date"))
        let version = try box.ok("--version").text
        #expect(version.contains("configuration schema \(ConfigurationStore.schemaVersion)"))
    }

    @Test("schema 8: no undo trigger in the file (a serving connection never parses one); provctl still records and reverts; a schema-7 file is served, then migrated")
    func undoTriggersLeftTheFile() throws {
        let box = try Sandbox()
        #expect(try box.sql("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == "0")
        try box.ok("device", "add", "000e08abcdef", "--group", "sales")
        try box.ok("set", "group:sales", "Resync_Periodic=900")
        try box.ok("set", "group:sales", "Resync_Periodic=1200")
        #expect(try box.sql("SELECT count(*) FROM changes") == "3", "one row per write, made by provctl's TEMP triggers")
        // Writes by another program leave no undo rows and are never taken into the next entry.
        _ = try box.sql("UPDATE devices SET serial = 'SN-OUTSIDE'")
        #expect(try box.sql("SELECT count(*) FROM changes") == "3")
        let setID = try #require(Int(try box.sql("SELECT id FROM audit WHERE new_value = '1200'")))
        try box.ok("revert", String(setID))
        #expect(try box.sql("SELECT value FROM settings WHERE name = 'Resync_Periodic'") == "900")
        #expect(try box.sql("SELECT serial FROM devices") == "SN-OUTSIDE")

        // A file at schema 7 (the triggers in it), as the previous build left it.
        let old = box.path("old.db")
        let database = try SQLiteDatabase(path: old, mode: .create)
        try database.execute("PRAGMA journal_mode = WAL")
        for version in 1...7 { try database.execute(ConfigurationEditor.migrations[version - 1].sql + "PRAGMA user_version = \(version);") }
        try database.execute("INSERT INTO devices (mac, model) VALUES ('000e08abcdef', 'CP-8841-3PCC')")
        let served = try ConfigurationStore(serving: old)
        #expect(served.versionAtOpen == 7, "the serving core reads a schema-7 file while it waits for provctl init")
        let migrated = try run(provctlBinary, ["--db", old, "init"], environment: ["PATH": "/usr/bin:/bin", "USER": "tester"])
        #expect(migrated.status == 0, "\(migrated)")
        let triggers = try run("sqlite3", [old, "SELECT count(*) || ' ' || (SELECT user_version FROM pragma_user_version) FROM sqlite_master WHERE type = 'trigger'"])
        #expect(triggers.text.trimmingCharacters(in: .whitespacesAndNewlines) == "0 \(ConfigurationStore.schemaVersion)")
    }

    @Test("import writes its undo rows itself, as the triggers would: each imported device reverts exactly, edits and additions")
    func importUndoRows() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--group", "sales", "--serial", "SN1")
        try box.ok("var", "device:000e08abcdef", "a=1", "b=2")
        let before = try box.sql("SELECT * FROM devices; SELECT * FROM variables;")
        let changesBefore = Int(try box.sql("SELECT count(*) FROM changes")) ?? -1
        try box.ok("import", try box.write("edit.csv", """
            mac,serial,group,variables
            000e08abcdef,SN2,east,a=9;c=3
            000e08000002,SN3,east,x=1
            """))
        // The edit: the device (old and new image), two variables deleted, two inserted; the addition: 1 + 1.
        #expect(try box.sql("SELECT count(*) FROM changes") == String(changesBefore + 5 + 2))
        #expect(try box.sql("SELECT count(*) FROM changes WHERE tbl = 'devices' AND old IS NOT NULL AND new IS NOT NULL") == "1")
        let entries = try #require(try box.ok("history", "--json").json() as? [[String: Any]])
        let imports = entries.filter { ($0["action"] as? String)?.hasPrefix("import") == true }.compactMap { $0["id"] as? Int }
        #expect(imports.count == 1, "one import, one change set (its two entries inside)")
        // Reverting checks that each row is still as its entry left it: the images must match json_object's exactly.
        for id in imports.sorted(by: >) { try box.ok("revert", String(id)) }
        #expect(try box.sql("SELECT * FROM devices; SELECT * FROM variables;") == before)
        // The triggers are back for the next command.
        try box.ok("set", "default", "Resync_Periodic=3600")
        #expect(try box.sql("SELECT count(*) FROM changes WHERE tbl = 'settings'") == "1")
    }

    @Test("--json on change commands prints a result object; errors are objects with code, status, field and rule")
    func jsonEverywhere() throws {
        let box = try Sandbox()
        let added = try #require(try box.ok("device", "add", "000e08abcdef", "--group", "sales", "--json").json() as? [String: Any])
        #expect(added["ok"] as? Bool == true && added["action"] as? String == "device add")
        #expect((added["history"] as? [Int])?.count == 1)
        for arguments in [["set", "default", "Resync_Periodic=3600"], ["var", "default", "x=1"], ["unvar", "default", "x"],
                          ["unset", "default", "Resync_Periodic"], ["device", "disable", "000e08abcdef"],
                          ["device", "enable", "000e08abcdef"], ["device", "edit", "000e08abcdef", "--serial", "SN1"],
                          ["groups"], ["models"], ["history"], ["claims"], ["device", "list"], ["check", "--web-user", currentUserName]] {
            let outcome = try box.provctl(arguments: arguments + ["--json"])
            #expect(outcome.status == 0, "\(arguments): \(outcome)")
            #expect((try? outcome.json()) != nil, "\(arguments) printed no JSON: \(outcome.text)")
        }

        let usage = try box.provctl("device", "add", "00:0e:08:ab:cd", "--json")
        #expect(usage.status == 64)
        let usageError = try jsonError(usage)
        #expect(usageError["code"] as? String == "usage" && usageError["field"] as? String == "MAC")

        let refused = try box.provctl("set", "default", "Resync_At__HHmm_=9999", "--json")
        #expect(refused.status == 65)
        let refusedError = try jsonError(refused)
        #expect(refusedError["code"] as? String == "refused" && refusedError["status"] as? Int == 65)
        #expect(refusedError["field"] as? String == "Resync_At__HHmm_")
        #expect((refusedError["rule"] as? String)?.contains("HHmm") == true)

        let missing = try jsonError(try box.provctl("device", "show", "000e08000000", "--json"))
        #expect(missing["code"] as? String == "not_found")
        #expect(try box.provctl("history", "--show-secrets").status == 64, "history stores secrets masked: no --show-secrets")
    }

    @Test("saves that would make a phone get 500 are refused with the devices and the reason; --force writes; dry run exits 6")
    func savesCannotBreakAPhone() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("device", "add", "000e08abcd01", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("var", "default", "period=900")
        try box.ok("set", "default", "Resync_Periodic={{period}}")
        let before = try box.dump()

        let undefined = try box.provctl("set", "group:sales", "Display_Name_1_={{nosuchvar}}", "--json")
        #expect(undefined.status == 6, "\(undefined)")
        let error = try jsonError(undefined)
        #expect(error["code"] as? String == "breaks")
        let problems = try #require(error["problems"] as? [[String: Any]])
        #expect(Set(problems.compactMap { $0["mac"] as? String }) == ["000e08abcdef", "000e08abcd01"])
        #expect(problems.allSatisfy { ($0["rule"] as? String)?.contains("nosuchvar") == true })
        #expect(try box.dump() == before, "nothing written")

        let badVariable = try box.provctl("var", "device:000e08abcdef", "period=abc")
        #expect(badVariable.status == 6)
        #expect(badVariable.stderr.contains("000e08abcdef") && badVariable.stderr.contains("Resync_Periodic"))
        #expect(try box.dump() == before)

        try box.ok("set", "default", "Display_Name_1_={{name}}", "--force")
        let lacking = try box.provctl("device", "add", "000e08abcd02")
        #expect(lacking.status == 6 && lacking.stderr.contains("{{name}}"), "\(lacking)")
        let preview = try box.provctl("device", "add", "000e08abcd02", "--dry-run")
        #expect(preview.status == 6, "a dry run says the same, with its own status: \(preview)")
        #expect(preview.text.contains("would no longer render"))
        try box.ok("unset", "default", "Display_Name_1_")

        let notADevice = try box.provctl("set", "device:000e08999999", "Resync_Periodic=60")
        #expect(notADevice.status == 3 && notADevice.stderr.contains("not a device"))
        #expect(try box.provctl("var", "device:000e08999999", "a=1").status == 3)

        let serial = try box.provctl("device", "add", "000e08abcd03", "--serial", "FCH 24,bad/serialé")
        #expect(serial.status == 65 && serial.stderr.contains("--serial"), "\(serial)")
        #expect(try box.provctl("device", "edit", "000e08abcdef", "--group", String(repeating: "g", count: 65)).status == 65)
        #expect(try box.provctl("device", "add", "000e08abcd03", "--model", "CP 8841").status == 65)

        let typo = try box.ok("device", "add", "000e08abcd04", "--group", "slaes")
        #expect(typo.stderr.contains("did you mean \"sales\""), "\(typo.stderr)")
        let groups = try #require(try box.ok("groups", "--json").json() as? [[String: Any]])
        #expect(groups.first { $0["name"] as? String == "sales" }?["devices"] as? Int == 2)
        let models = try box.ok("models").text
        #expect(models.contains("CP-8841-3PCC") && models.contains("DEVICES"))
    }

    @Test("a dry run groups identical changes; --diff prints every device's diff")
    func groupedDryRun() throws {
        let box = try Sandbox()
        for index in 0..<5 { try box.ok("device", "add", String(format: "000e08ab00%02x", index), "--group", "sales") }
        try box.ok("set", "group:sales", "Resync_Periodic=900")
        let grouped = try box.provctl("set", "group:sales", "Resync_Periodic=1200", "--dry-run")
        #expect(grouped.status == 2)
        #expect(grouped.text.contains("5 devices (000e08ab0000, 000e08ab0001, 000e08ab0002, ...): Resync_Periodic 900 → 1200"),
                "\(grouped.text)")
        #expect(grouped.text.split(separator: "\n").count == 2, "one line per group and the summary: \(grouped.text)")
        let full = try box.provctl("set", "group:sales", "Resync_Periodic=1200", "--dry-run", "--diff")
        #expect(full.text.components(separatedBy: "would change:").count == 6)
    }

    @Test("import reports every bad row in one run, nothing written; --skip-invalid imports the rest; ; and tab files")
    func importEveryBadRow() throws {
        let box = try Sandbox()
        let before = try box.dump()
        let csv = """
            mac;serial;model;group;gzip;encryption;key;digest;var:ext
            000e08000001;SN1;CP-8841-3PCC;sales;yes;aes-256-cbc;k1;md5;101
            000e08000002;bad serial;CP-8841-3PCC;sales;no;;;;102
            zz;;;;;;;;
            000e08000003;SN3;CP-8841-3PCC;sales;maybe;none;;sha1;
            000e08000004;SN4;CP 8841;sales;;;;;104
            000e08000005;SN5;;sales;;aes-256-cbc;;;105

            """
        let file = try box.write("semi.csv", csv)
        let refused = try box.provctl("import", file, "--json")
        #expect(refused.status == 65)
        let problems = try #require(try jsonError(refused)["problems"] as? [[String: Any]])
        #expect(Set(problems.compactMap { $0["line"] as? Int }) == [3, 4, 5, 6, 7], "\(problems)")
        #expect(problems.contains { $0["line"] as? Int == 5 && $0["field"] as? String == "digest" })
        #expect(problems.contains { $0["line"] as? Int == 6 && $0["field"] as? String == "model" })
        #expect(problems.contains { $0["line"] as? Int == 7 && $0["field"] as? String == "key" })
        #expect(try box.dump() == before)

        let skipped = try box.provctl("import", file, "--skip-invalid")
        #expect(skipped.status == 8, "done, with rows skipped: \(skipped)")
        #expect(skipped.text.contains("1 added") && skipped.text.contains("skipped 5 bad row(s)"), "\(skipped)")
        #expect(try box.sql("SELECT mac || '|' || gzip || '|' || encryption || '|' || encryption_key || '|' || kdf_digest FROM devices")
                == "000e08000001|1|aes-256-cbc|k1|md5")
        #expect(try box.sql("SELECT value FROM variables WHERE name = 'ext'") == "101")

        let tabs = try box.write("tabs.tsv", "mac\tgroup\tvar:ext\n000e08000009\tsales\t109\n")
        try box.ok("import", tabs)
        #expect(try box.sql("SELECT value FROM variables WHERE target = '000e08000009'") == "109")
        let forced = try box.provctl("import", try box.write("c.csv", "mac;group\n000e0800000a;sales\n"), "--delimiter", ",")
        #expect(forced.status == 65 && forced.stderr.contains("delimiter"), "\(forced)")
    }

    @Test("export --show-secrets then import into a new database gives the same devices, keys and variables")
    func exportImportRoundTrip() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "SN1", "--model", "CP-8841-3PCC", "--group", "sales",
                   "--gzip", "--encrypt", "aes-256-cbc", "--key", "a phrase, with comma", "--kdf", "md5")
        try box.ok("device", "add", "000e08abcd01", "--disabled", "--encrypt", "aes-256-cbc", "--key", "k2")
        try box.ok("device", "add", "000e08abcd02", "--group", "support")
        try box.ok("var", "device:000e08abcdef", "sip_password=Pw;1\"", "ext=101")
        try box.ok("var", "device:000e08abcd02", "ext=102", "note=line1\nline2")
        let full = try box.ok("export", "--show-secrets").text
        let other = try Sandbox()
        try other.ok("import", try other.write("full.csv", full))
        let devices = "SELECT mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest FROM devices ORDER BY mac"
        let variables = "SELECT scope, target, name, value FROM variables ORDER BY 1, 2, 3"
        #expect(try other.sql(devices) == box.sql(devices))
        #expect(try other.sql(variables) == box.sql(variables))
        #expect(try other.ok("export", "--show-secrets").text == full)

        // Without --show-secrets keys and secret variables are ***; importing that keeps the stored values.
        let masked = try box.ok("export").text
        #expect(!masked.contains("a phrase") && !masked.contains("Pw;1") && masked.contains("***"))
        try other.ok("import", try other.write("masked.csv", masked))
        #expect(try other.sql(devices) == box.sql(devices))
        #expect(try other.sql(variables) == box.sql(variables))
    }

    @Test("revert undoes one entry or everything since a time, is recorded, and refuses rows changed since")
    func revert() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--group", "sales", "--encrypt", "aes-256-cbc", "--key", "k1")
        try box.ok("set", "group:sales", "Resync_Periodic=900")
        let startRows = try box.sql("SELECT * FROM devices; SELECT * FROM settings; SELECT * FROM variables;")
        try box.ok("set", "group:sales", "Resync_Periodic=1200")
        let edit = try box.ok("device", "edit", "000e08abcdef", "--key", "k2", "--json").json() as? [String: Any]
        let editID = try #require((edit?["history"] as? [Int])?.first)
        let setID = try #require(Int(try box.sql("SELECT id FROM audit WHERE new_value = '1200'")))

        try box.ok("revert", String(setID))
        #expect(try box.sql("SELECT value FROM settings WHERE name = 'Resync_Periodic'") == "900")
        #expect(try box.sql("SELECT encryption_key FROM devices") == "k2", "the other entry stays")
        let history = try box.ok("history", "--json").json() as? [[String: Any]]
        #expect(history?.first?["action"] as? String == "revert")
        // Reverting it again: the row is no longer as the entry left it.
        let again = try box.provctl("revert", String(setID), "--json")
        #expect(again.status == 4)
        #expect(try jsonError(again)["code"] as? String == "conflict")
        // The revert reverted: 1200 again.
        let revertID = try #require(history?.first?["id"] as? Int)
        try box.ok("revert", String(revertID))
        #expect(try box.sql("SELECT value FROM settings WHERE name = 'Resync_Periodic'") == "1200")
        #expect(editID > setID)

        // Everything since the start: back to the dump taken then (rows, not the audit log).
        _ = try box.sql("UPDATE audit SET at = at - 100 WHERE id <= 2")
        let stamp = try box.sql("SELECT min(at) FROM audit WHERE id > 2")
        try box.ok("revert", "--since", stamp)
        #expect(try box.sql("SELECT value FROM settings WHERE name = 'Resync_Periodic'") == "900")
        #expect(try box.sql("SELECT encryption_key FROM devices") == "k1")
        #expect(try box.sql("SELECT * FROM devices; SELECT * FROM settings; SELECT * FROM variables;") == startRows)
        #expect(try box.provctl("revert", "99999").status == 3)
    }

    @Test("device remove keeps a restorable snapshot (row, key, settings, variables); several need --yes")
    func removeAndRestore() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "SN1", "--encrypt", "aes-256-cbc", "--key", "secret-key")
        try box.ok("device", "add", "000e08abcd01")
        try box.ok("set", "device:000e08abcdef", "Password_1_=hunter2", "Display_Name_1_=Desk")
        try box.ok("var", "device:000e08abcdef", "ext=101")
        let before = try box.sql("SELECT * FROM devices; SELECT * FROM settings; SELECT * FROM variables;")
        let many = try box.provctl("device", "remove", "000e08abcdef", "000e08abcd01")
        #expect(many.status == 64 && many.stderr.contains("--yes"))
        try box.ok("device", "remove", "000e08abcdef", "000e08abcd01", "--yes")
        #expect(try box.sql("SELECT count(*) FROM devices") == "0")
        #expect(!(try box.ok("history").text.contains("secret-key")), "history stays masked")
        try box.ok("device", "restore", "000e08abcdef", "000e08abcd01")
        #expect(try box.sql("SELECT * FROM devices; SELECT * FROM settings; SELECT * FROM variables;") == before)
        #expect(try box.provctl("device", "restore", "000e08abcdef").status == 4, "already a device")
    }

    @Test("history filters by scope, user and time")
    func historyFilters() throws {
        let box = try Sandbox()
        #expect(try box.provctl(arguments: ["device", "add", "000e08abcdef", "--group", "sales"], environment: ["SUDO_USER": "alice"]).status == 0)
        try box.ok("set", "group:sales", "Resync_Periodic=900")
        try box.ok("set", "default", "Resync_Periodic=3600")
        _ = try box.sql("UPDATE audit SET at = 1700000000 WHERE id = 1")
        func actions(_ arguments: String...) throws -> [String] {
            let rows = try #require(try box.ok(arguments: ["history", "--json"] + arguments).json() as? [[String: Any]])
            return rows.compactMap { $0["target"] as? String }
        }
        #expect(try actions("--scope", "group:sales") == ["group:sales Resync_Periodic"])
        #expect(try actions("--user", "alice") == ["000e08abcdef"])
        #expect(try actions("--until", "2023-11-15") == ["000e08abcdef"])
        #expect(try actions("--since", "2023-11-15T00:00:00Z").count == 2)
        #expect(try actions("--since", "1h").count == 2)
        #expect(try box.provctl("history", "--since", "yesterday").status == 64)
    }

    @Test("check says what the web server's user cannot read or write, with the command that fixes it; lost journal writes")
    func webServerAccess() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef")
        _ = try box.journalSQL("INSERT INTO lost (node, what, count, first_at, last_at) VALUES ('n1', 'seen', 7, 1700000000, 1700000100)")
        let lost = try box.provctl("check", "--web-user", currentUserName, "--permissions-only")
        #expect(lost.status == 0 && lost.text.contains("seen 7"), "a warning: the phones were served: \(lost)")
        _ = try box.journalSQL("DELETE FROM lost")
        // Created 0640 by provctl; a configuration anyone may read, or the web server may write, is a finding.
        let mode = try FileManager.default.attributesOfItem(atPath: box.path("provisioner.db"))[.posixPermissions] as? Int
        #expect(mode == 0o640)
        chmod(box.path("provisioner.db"), 0o644)
        let open = try box.provctl("check", "--web-user", currentUserName, "--permissions-only")
        #expect(open.status != 0 && (open.text + open.stderr).contains("everyone on this machine can read the configuration"), "\(open)")
        chmod(box.path("provisioner.db"), 0o640)
        guard getuid() == 0, getpwnam("www-data") != nil else { return }
        // As Debian leaves a folder made by root: 0755 root:root. www-data can read but not write the journal.
        chmod(box.folder.path, 0o755)
        let outcome = try box.provctl("check", "--permissions-only", "--json")
        #expect(outcome.status == 5)
        let object = try #require(try outcome.json() as? [String: Any])
        let findings = try #require(object["findings"] as? [[String: Any]])
        let fixes = findings.compactMap { ($0["message"] as? String)?.components(separatedBy: "; fix: ").last }
        #expect(fixes.contains { $0.contains("chmod 2770") }, "\(findings)")
        #expect(fixes.contains { $0.contains("chown www-data:www-data") && $0.contains("journal.db") }, "\(findings)")
        for fix in fixes { _ = try run("/bin/sh", ["-c", fix]) }
        let fixed = try box.provctl("check", "--permissions-only")
        #expect(fixed.status == 0, "after running the printed commands: \(fixed)")
    }

    @Test("help refers only to what a user has; completion covers values; --version")
    func helpAndCompletion() throws {
        let box = try Sandbox()
        for arguments in [["--help"], ["set", "--help"], ["check", "--help"], ["import", "--help"], ["revert", "--help"]] {
            let help = try box.ok(arguments: arguments).text
            #expect(!help.contains("FACTS") && !help.contains("§"), "\(arguments)")
        }
        let bash = try box.ok("completions", "bash").text
        #expect(bash.contains("---completion"), "custom value completion is wired in")
        try box.ok("device", "add", "000e08abcdef", "--group", "sales")
        // What the shell runs for `provctl device show 000e<TAB>` (ArgumentParser's protocol).
        let macs = try run(provctlBinary, ["---completion", "device", "show", "--", "positional@0", "5", "4",
                                          "provctl", "--db", box.db, "device", "show", "000e"])
        #expect(macs.text.split(separator: "\n") == ["000e08abcdef"], "\(macs)")
        let scopes = try run(provctlBinary, ["---completion", "set", "--", "positional@0", "4", "6",
                                            "provctl", "--db", box.db, "set", "group:"])
        #expect(scopes.text.contains("group:sales"), "\(scopes)")
    }

    @Test("backup while serving, restore, and the journal copy")
    func backupRestore() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--encrypt", "aes-256-cbc", "--key", "k1")
        try box.ok("set", "default", "Resync_Periodic=900")
        _ = try box.journalSQL("INSERT INTO seen (mac, node, first_seen, last_seen, count) VALUES ('000e08abcdef', 'n1', 1, 2, 3)")
        let snapshot = try box.dump()
        let backup = try box.ok("backup", box.path("b.db"))
        #expect(backup.text.contains("backed up 1 device(s)"))
        #expect(try run("sqlite3", [box.path("b-journal.db"), "SELECT count FROM seen"]).text.trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        let mode = try FileManager.default.attributesOfItem(atPath: box.path("b.db"))[.posixPermissions] as? Int
        #expect(mode == 0o600, "a backup holds keys")
        #expect(try box.provctl("backup", box.path("b.db")).status == 4, "never overwrites")

        try box.ok("device", "add", "000e08abcd01")
        try box.ok("set", "default", "Resync_Periodic=1200")
        #expect(try box.provctl("restore", box.path("b.db")).status == 64, "asks for --yes")
        try box.ok("restore", box.path("b.db"), "--yes")
        let restored = try box.dump()
        // The same rows, plus the history entry of the restore itself.
        #expect(restored.replacingOccurrences(of: "\n", with: "").contains(
            snapshot.components(separatedBy: "INSERT INTO devices").dropFirst().first?.components(separatedBy: "\n").first ?? "x"))
        #expect(try box.sql("SELECT count(*) FROM devices") == "1")
        #expect(try box.sql("SELECT value FROM settings") == "900")
        #expect(try box.sql("SELECT action FROM audit ORDER BY id DESC LIMIT 1") == "restore")
    }
}
