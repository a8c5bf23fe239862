import Foundation
import Testing

@Suite("provctl import, export, import-profile")
struct ImportTests {
    @Test("import reads RFC 4180 CSV with the documented columns; export writes it back; round trip")
    func importExportRoundTrip() throws {
        let box = try Sandbox()
        let csv = [
            "mac,serial,model,group,enabled,variables",
            "00:0E:08:AB:CD:EF,SN1,CP-8841-3PCC,sales,yes,\"display_name=Front Desk, Lobby;ext=101;note=a\\;b\\\\c\"",
            "000e08abcd01,,CP-7841-3PCC,support-east,no,\"quote=say \"\"hi\"\"\"",
            "000e.08ab.cd02,SN3,,,,\"multi=line1\nline2\"",
            "",
        ].joined(separator: "\r\n")
        let file = try box.write("devices.csv", csv)
        let outcome = try box.ok("import", file)
        #expect(outcome.text.contains("imported 3 row(s): 3 added"))
        #expect(try box.sql("SELECT mac || '|' || ifnull(serial,'') || '|' || ifnull(model,'') || '|' || ifnull(group_name,'') || '|' || enabled FROM devices ORDER BY mac")
                == "000e08abcd01||CP-7841-3PCC|support-east|0\n000e08abcd02|SN3|||1\n000e08abcdef|SN1|CP-8841-3PCC|sales|1")
        #expect(try box.sql("SELECT value FROM variables WHERE target = '000e08abcdef' AND name = 'display_name'") == "Front Desk, Lobby")
        #expect(try box.sql("SELECT value FROM variables WHERE target = '000e08abcdef' AND name = 'note'") == "a;b\\c")
        #expect(try box.sql("SELECT value FROM variables WHERE target = '000e08abcd02'") == "line1\nline2")

        let exported = try box.ok("export").text
        #expect(exported.hasPrefix("mac,serial,model,group,enabled,gzip,encryption,key,digest,var:display_name,var:ext,var:multi,var:note,var:quote\r\n"))
        #expect(exported.contains("000e08abcd01,,CP-7841-3PCC,support-east,no,no,none,,,,,,,\"say \"\"hi\"\"\"\r\n"))
        #expect(exported.contains(",a;b\\c,"))
        // Into a fresh database and out again: the same bytes.
        let other = try Sandbox()
        try other.ok("import", try other.write("again.csv", exported))
        #expect(try other.ok("export").text == exported)
        // Importing the export again changes nothing.
        #expect(try box.ok("import", try box.write("same.csv", exported)).text.contains("3 unchanged"))
        // To a file.
        try box.ok("export", box.path("out.csv"), "--group", "sales")
        let written = try String(contentsOfFile: box.path("out.csv"), encoding: .utf8)
        #expect(written.split(separator: "\r\n").count == 2)
    }

    @Test("export masks secret variables unless --show-secrets; importing *** keeps the stored value")
    func secretsInExport() throws {
        let box = try Sandbox()
        try box.ok("import", try box.write("in.csv", "mac,variables\n000e08abcdef,sip_password=Pw1!;ext=101\n"))
        let masked = try box.ok("export").text
        #expect(masked.hasPrefix("mac,serial,model,group,enabled,gzip,encryption,key,digest,var:ext,var:sip_password\r\n"))
        #expect(masked.contains(",101,***\r\n"))
        #expect(!masked.contains("Pw1!"))
        #expect(try box.ok("export", "--show-secrets").text.contains(",101,Pw1!\r\n"))
        try box.ok("import", try box.write("masked.csv", masked))
        #expect(try box.sql("SELECT value FROM variables WHERE name = 'sip_password'") == "Pw1!")
        let fresh = try Sandbox()
        let refused = try fresh.provctl("import", try fresh.write("masked.csv", masked))
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("--show-secrets"))
        #expect(!(try box.sql("SELECT group_concat(ifnull(old_value,'') || new_value) FROM audit")).contains("Pw1!"))
    }

    @Test("bad files are refused naming the line; nothing is written", arguments: [
        ("mac,colour\n000e08abcdef,red\n", "unknown column"),
        ("serial\nSN1\n", "no mac column"),
        ("mac,serial\n000e08abcdef\n", "line 2"),
        ("mac\n000e08abcdef\nnot-a-mac\n", "line 3"),
        ("mac\n000e08abcdef\n00:0e:08:ab:cd:ef\n", "already on line 2"),
        ("mac,enabled\n000e08abcdef,maybe\n", "yes or no"),
        ("mac,variables\n000e08abcdef,novalue\n", "name=value"),
        ("mac,variables\n000e08abcdef,cert.ou=x\n", "cert."),
        ("mac,serial\n000e08abcdef,\"open\n", "not closed"),
        ("mac,serial\n000e08abcdef,ab\"c\n", "quote inside"),
        ("", "empty"),
    ])
    func refused(_ csv: String, _ message: String) throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08aaaaaa")
        let before = try box.dump()
        let outcome = try box.provctl("import", try box.write("bad.csv", csv))
        #expect(outcome.status == 65, "\(outcome)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(try box.dump() == before)
    }

    func rows(_ count: Int, badAt: Int? = nil) -> String {
        var text = "mac,serial,model,group,enabled,variables\n"
        for index in 0..<count {
            let mac = index + 1 == badAt ? "zz0000000000" : String(format: "00562b%06x", index)
            text += "\(mac),FCH\(index),CP-8841-3PCC,site-\(index % 10),yes,ext=\(1000 + index);sip_password=pw\(index)\n"
        }
        return text
    }

    @Test("an import of 10,000 rows failing on row 9,000 leaves the database exactly as it was")
    func failingLargeImport() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "00562b000005", "--group", "keep")
        try box.ok("set", "default", "Resync_Periodic=3600")
        try box.ok("var", "device:00562b000005", "ext=5")
        let dumpBefore = try box.dump()
        let fileBefore = try Data(contentsOf: URL(fileURLWithPath: box.db))
        let outcome = try box.provctl("import", try box.write("big.csv", rows(10_000, badAt: 9_000)))
        #expect(outcome.status == 65, "\(outcome)")
        #expect(outcome.stderr.contains("line 9001"), "row 9,000 is line 9,001 after the header: \(outcome.stderr)")
        #expect(try box.dump() == dumpBefore)
        #expect(try box.sql("SELECT count(*) FROM devices") == "1")
        #expect(try Data(contentsOf: URL(fileURLWithPath: box.db)) == fileBefore, "the database file is byte for byte the same")

        // The same failure found by SQLite mid-write (a variable value too long for nothing: a NOT NULL) would
        // roll back too; here the whole valid file goes in.
        let good = try box.ok("import", try box.write("good.csv", rows(10_000)))
        #expect(good.text.contains("9999 added, 1 changed"))
        #expect(try box.sql("SELECT count(*) FROM devices") == "10000")
        #expect(try box.sql("SELECT count(*) FROM variables WHERE scope = 'device'") == "20000")
        #expect(try box.sql("SELECT group_name FROM devices WHERE mac = '00562b000005'") == "site-5")
    }

    @Test("import --dry-run shows the new devices and writes nothing")
    func importDryRun() throws {
        let box = try Sandbox()
        try box.ok("set", "default", "Station_Name={{ext}}")
        let before = try box.dump()
        let outcome = try box.provctl("import", try box.write("d.csv", rows(3)), "--dry-run")
        #expect(outcome.status == 2)
        #expect(outcome.text.contains("3 devices (00562b000000, 00562b000001, 00562b000002): device (none) → added"))
        let diff = try box.provctl("import", box.path("d.csv"), "--dry-run", "--diff")
        #expect(diff.text.contains("device 00562b000002 would change"))
        #expect(diff.text.contains("+  <Station_Name>1002</Station_Name>"))
        #expect(try box.dump() == before)
    }

    @Test("import-profile reads <flat-profile> and <device><flat-profile>, keeps ua, validates, all or nothing")
    func importProfile() throws {
        let box = try Sandbox()
        let flat = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- exported from a phone -->
            <flat-profile>
              <Resync_Periodic ua="na">3600</Resync_Periodic>
              <Display_Name_1_ ua="rw">  Front &amp; Back &#233;  </Display_Name_1_>
              <GPP_B/>
              <Profile_Rule ua="na">[--key secret] https://p.example.com/$MA.cfg</Profile_Rule>
              <Resync_Periodic>7200</Resync_Periodic>
            </flat-profile>
            """
        let outcome = try box.ok("import-profile", try box.write("flat.xml", flat), "--scope", "group:sales")
        #expect(outcome.stderr.contains("repeated"))
        #expect(try box.sql("SELECT name || '|' || value || '|' || ifnull(ua,'') FROM settings ORDER BY name")
                == "Display_Name_1_|Front & Back \u{e9}|rw\nGPP_B||\nProfile_Rule|[--key secret] https://p.example.com/$MA.cfg|na\nResync_Periodic|7200|")
        let newest = try #require((try box.ok("history", "--json").json() as? [[String: Any]])?.first?["id"] as? Int)
        let history = try box.ok("history", "--set", String(newest)).text
        #expect(history.contains("[--key ***]"))
        #expect(!history.contains("secret]"))

        let device = """
            <device>
              <flat-profile>
                <Provision_Enable ua="na">Yes</Provision_Enable>
              </flat-profile>
            </device>
            """
        try box.ok("import-profile", try box.write("device.xml", device), "--scope", "default")
        #expect(try box.sql("SELECT value || '|' || ua FROM settings WHERE scope = 'default'") == "Yes|na")

        let before = try box.dump()
        for (text, message) in [("<flat-profile><A>1</B></flat-profile>", "bad2.xml: line 1"),
                                ("<profile><A>1</A></profile>", "not <flat-profile>"),
                                ("<flat-profile><Bad:Name>1</Bad:Name></flat-profile>", "not a parameter name"),
                                ("<flat-profile><A>&#1;</A></flat-profile>", "not well-formed")] {
            let result = try box.provctl("import-profile", try box.write("bad2.xml", text), "--scope", "default")
            #expect(result.status == 65, "\(text): \(result)")
            #expect(result.stderr.contains(message), "\(text): \(result.stderr)")
        }
        #expect(try box.dump() == before)
        let preview = try box.provctl("import-profile", try box.write("p.xml", "<flat-profile><GPP_A>x</GPP_A></flat-profile>"),
                                      "--scope", "default", "--dry-run")
        #expect(preview.status == 0, "no devices: nothing would change")
        #expect(try box.dump() == before)
    }
}
