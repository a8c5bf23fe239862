import Foundation
import Provisioning
import Testing

/// `pending` reads each device's expected profile SHA-256 (`expected_profiles`, schema 11) instead of rendering it:
/// after every kind of write, its answer must be the one rendering gives (`PROVISIONER_PENDING_RENDER=1`).
@Suite("expected profile hashes: pending through the stored hashes equals pending through rendering")
struct ExpectedProfilesTests {
    /// Pending as JSON and as the table, through the stored hashes and through rendering: the same text; and
    /// every device had a current row (the fast path was taken).
    func same(_ box: Sandbox, _ what: String, rows: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for arguments in [["pending", "--json"], ["pending"]] {
            let fast = try box.provctl(arguments: arguments)
            let slow = try box.provctl(arguments: arguments, environment: ["PROVISIONER_PENDING_RENDER": "1"])
            #expect(fast.status == slow.status && fast.text == slow.text, "\(what): \(arguments)\nfast: \(fast)\nslow: \(slow)",
                    sourceLocation: sourceLocation)
        }
        if rows {
            let missing = try box.sql("""
                SELECT group_concat(mac) FROM devices WHERE mac NOT IN
                    (SELECT printf('%012x', mac) FROM expected_profiles WHERE mac >= 0 AND format = 1 AND value IS NOT NULL)
                """)
            #expect(missing.isEmpty, "\(what): devices without a current row: \(missing)", sourceLocation: sourceLocation)
        }
    }

    /// Each row is the hash of what `provctl render` gives.
    func rowsAreRendered(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for line in try box.sql("SELECT printf('%012x', mac) || ' ' || value FROM expected_profiles WHERE mac >= 0").split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            let rendered = try box.ok("render", parts[0]).stdout
            #expect(parts[1] == Digest.sha256Hex(Array(rendered)), "\(parts[0])", sourceLocation: sourceLocation)
        }
    }

    @Test("every kind of write: settings and variables at each scope, devices added, moved, disabled, removed, import, revert, older files")
    func everyWrite() throws {
        let box = try Sandbox()
        let a = "000e08abcdef", b = "000e08abcd01", c = "000e08abcd02"
        try box.ok("device", "add", a, "--serial", "88012BA01234", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("device", "add", b, "--serial", "88012BA00001", "--model", "CP-8841-3PCC", "--group", "lab")
        // No model or serial stored: the certificate's are used (rendered, not read).
        try box.ok("device", "add", c, "--group", "sales")
        try box.ok("var", "default", "pw=s3cret", "name=Desk")
        try box.ok("set", "default", "Resync_Periodic=3600", "User_ID_1_=1001", "Password_1_={{pw}}", "Display_Name_1_={{name}}")
        try same(box, "before any fetch")
        for (mac, serial) in [(a, "88012BA01234"), (b, "88012BA00001"), (c, "88012BA00002")] {
            #expect(try box.phone("/\(mac).xml", mac: mac, serial: serial).status == 200)
        }
        try same(box, "every device has its profile")
        try rowsAreRendered(box)
        // The stored hash is what pending reads: a wrong one shows (this is why every write must keep them right).
        let kept = try box.sql("SELECT value FROM expected_profiles WHERE mac = 0x\(a)")
        _ = try box.sql("UPDATE expected_profiles SET value = '\(String(repeating: "0", count: 64))' WHERE mac = 0x\(a)")
        #expect(try box.listed("pending", "--json").text.contains(String(repeating: "0", count: 64)))
        #expect(try !box.provctl(arguments: ["pending", "--json"], environment: ["PROVISIONER_PENDING_RENDER": "1"]).text
                    .contains(String(repeating: "0", count: 64)))
        _ = try box.sql("UPDATE expected_profiles SET value = '\(kept)' WHERE mac = 0x\(a)")
        try box.ok("set", "default", "Time_Format=24hr")
        try same(box, "a default setting")
        #expect(try box.phone("/\(a).xml").status == 200)
        try box.ok("set", "group:sales", "Time_Format=12hr")
        try same(box, "a group setting")
        try box.ok("set", "model:CP-8841-3PCC", "Date_Format=day/month")
        try same(box, "a model setting")
        try box.ok("set", "device:\(b)", "Short_Name_1_={{name}}")
        try same(box, "a device setting")
        try box.ok("var", "group:lab", "name=Lab desk")
        try same(box, "a group variable")
        try box.ok("var", "model:CP-8841-3PCC", "pw=model-pw")
        try same(box, "a model variable")
        try box.ok("var", "device:\(a)", "name=Reception")
        try same(box, "a device variable")
        try box.ok("unset", "group:sales", "Time_Format")
        try same(box, "a setting removed")
        try box.ok("device", "edit", b, "--group", "sales")
        try same(box, "a device moved to another group")
        try box.ok("device", "edit", a, "--model", "CP-8851-3PCC")
        try same(box, "a device's model changed")
        try box.ok("device", "disable", b)
        try same(box, "a device disabled")
        try box.ok("device", "enable", b)
        try same(box, "a device enabled")
        try box.ok("device", "remove", c)
        try same(box, "a device removed")
        try box.ok("import", try box.write("fleet.csv", """
            mac,serial,model,group,variables
            000e08000010,SN10,CP-8841-3PCC,lab,name=Ten
            000e08abcd01,88012BA00001,CP-8841-3PCC,east,name=Moved
            """))
        try same(box, "an import (one added, one edited)")
        let set = try box.sql("SELECT max(change_set) FROM audit")
        try box.ok("revert", set)
        try same(box, "a revert of the import")
        try rowsAreRendered(box)
        // A file made before schema 11 (or rows a writer without the triggers left out): rendered until the next change.
        _ = try box.sql("DELETE FROM expected_profiles WHERE mac = 0x\(a); UPDATE expected_profiles SET format = 0 WHERE mac = 0x\(b)")
        try same(box, "rows missing or of another format", rows: false)
        try box.ok("set", "device:\(b)", "Station_Name=ten")
        try same(box, "the next change writes every missing row")
        try rowsAreRendered(box)
        #expect(try box.listed("pending", "--stale", "--json").text
                    == box.provctl(arguments: ["pending", "--stale", "--json"], environment: ["PROVISIONER_PENDING_RENDER": "1"]).text)
        // A device that does not render: no hash, rendered for its problem.
        try box.ok("set", "device:\(b)", "Station_Name={{undefined_variable}}", "--force")
        try same(box, "a device that does not render", rows: false)
        #expect(try box.sql("SELECT count(*) FROM expected_profiles WHERE mac = 0x\(b) AND value IS NULL") == "1")
    }

    @Test("a dry run leaves the stored hashes; device show reads the kept secret variable names")
    func dryRunAndSecretNames() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "88012BA01234", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("var", "device:000e08abcdef", "pw=s3cret", "name=Desk")
        try box.ok("set", "default", "Password_1_={{pw}}")
        let rows = try box.sql("SELECT * FROM expected_profiles ORDER BY mac")
        #expect(!rows.isEmpty)
        try box.provctl("set", "default", "Time_Format=12hr", "--dry-run")
        #expect(try box.sql("SELECT count(*) FROM settings WHERE name = 'Time_Format'") == "0")
        #expect(try box.sql("SELECT * FROM expected_profiles ORDER BY mac") == rows, "a dry run writes nothing")
        #expect(try box.sql("SELECT value FROM expected_profiles WHERE mac = -1") == "pw")
        let shown = try box.ok("device", "show", "000e08abcdef", "--json").text
        #expect(shown.contains("\"value\": \"Desk\"") && !shown.contains("s3cret"), "\(shown)")
        // Without the kept list (a file before schema 11), the same answer from every setting.
        _ = try box.sql("DELETE FROM expected_profiles WHERE mac = -1")
        #expect(try box.ok("device", "show", "000e08abcdef", "--json").text == shown)
        try box.ok("set", "device:000e08abcdef", "Station_Name={{name}}")
        #expect(try box.sql("SELECT value FROM expected_profiles WHERE mac = -1") == "pw")
    }
}
