import Foundation
import Testing

/// Issue 21, point 4: typos in model and group names, and one phone's identity imported into a shared scope.
@Suite("typos in new names are refused unless --new-name; import-profile warns about one phone's identity")
struct NameTypoTests {
    @Test("a group differing only by case, or a model one step from a Cisco product, is refused; --new-name accepts it")
    func typos() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08000001", "--group", "sales", "--model", "CP-8841-3PCC")
        let csv = try box.write("t.csv", "mac,group,model\n000e08000002,Sales,CP-8841-3PCC\n")
        let refused = try box.provctl("import", csv)
        #expect(refused.status == 65 && refused.stderr.contains("group \"Sales\": differs from the group \"sales\" in use only by case"), "\(refused)")
        #expect(try box.sql("SELECT count(*) FROM devices") == "1", "nothing written")
        let model = try box.provctl("device", "add", "000e08000003", "--model", "CP-8814-3PCC", "--json")
        #expect(model.status == 65 && model.text.contains("is no Cisco product"), "\(model)")
        // Real products that are new here are only a warning; a deliberate new name goes in with --new-name.
        #expect(try box.provctl("device", "add", "000e08000004", "--model", "CP-8861-3PCC").status == 0)
        #expect(try box.provctl("device", "add", "000e08000005", "--model", "SPA112").status == 0)
        try box.ok("import", csv, "--new-name")
        #expect(try box.provctl("set", "group:SALES", "Resync_Periodic=600").status == 65)
    }

    @Test("a phone the server refuses (a model typo: 403 model mismatch) is 'refused by server' in pending, with the reason")
    func refusedByServer() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--model", "CP-8861-3PCC")
        #expect(try box.phone("/000e08abcdef.xml").status == 403, "the phone presents CP-8841-3PCC")
        let pending = try box.provctl("pending", "--json")
        let entry = try #require((try pending.json() as? [[String: Any]])?.first)
        #expect(pending.status == 5 && entry["states"] as? [String] == ["refused by server"], "\(pending)")
        #expect(entry["refusal"] as? String == "403 model mismatch")
    }

    @Test("import-profile into a shared scope names the values that identify one phone and offers its device scope")
    func onePhoneIdentity() throws {
        let box = try Sandbox()
        // Shaped as a phone's own export (Cisco's CP-8841 MPP 11.3 export's element names), one phone's values.
        let file = try box.write("phone.xml", """
            <flat-profile>
              <Station_Name ua="na">SEP000E08ABCDEF</Station_Name>
              <User_ID_1_ ua="na">1001</User_ID_1_>
              <Password_1_ ua="na">line-secret-1001</Password_1_>
              <Resync_Periodic ua="na">3600</Resync_Periodic>
              <Profile_Rule ua="na">https://p.example.com/000e08abcdef.xml</Profile_Rule>
            </flat-profile>
            """)
        let shared = try box.provctl("import-profile", file, "--scope", "default")
        #expect(shared.status == 0 && shared.stderr.contains("3 value(s) name one phone (Station_Name, User_ID_1_, Password_1_")
                || shared.stderr.contains("name one phone"), "\(shared)")
        #expect(shared.stderr.contains("--scope device:000e08abcdef") && !shared.stderr.contains("line-secret-1001"), "\(shared)")
        try box.ok("device", "add", "000e08abcdef")
        let own = try box.provctl("import-profile", file, "--scope", "device:000e08abcdef")
        #expect(own.status == 0 && !own.stderr.contains("name one phone"), "\(own)")
    }
}

/// Issue 21, point 4: export → import reproduces every device, its own settings included.
@Suite("export --show-secrets → import round-trips a device: its settings, variables and key")
struct RoundTripTests {
    @Test("device-scope settings travel as set:NAME columns; a masked export keeps what is stored; the profile is the same")
    func roundTrip() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--group", "sales", "--encrypt", "aes-256-cbc", "--key", "own-key-1")
        try box.ok("set", "default", "Resync_Periodic=600")
        try box.ok("set", "device:000e08abcdef", "Display_Name_1_=Front, \"desk\"", "Password_1_=pw-line-1",
                   "Profile_Rule=[--key {{device.key}}] https://p.example.com/$MA.cfg")
        try box.ok("var", "device:000e08abcdef", "ext=101")
        let file = box.path("all.csv")
        try box.ok("export", file, "--show-secrets")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains("set:Display_Name_1_") && text.contains("pw-line-1"), "\(text)")
        // Into a new database: the same device-scope settings, the same profile.
        let other = try Sandbox()
        try other.ok("set", "default", "Resync_Periodic=600")
        try other.ok("import", file)
        for arguments in [["settings", "device:000e08abcdef", "--json", "--show-secrets"], ["variables", "device:000e08abcdef", "--json"],
                          ["render", "000e08abcdef"]] {
            #expect(try other.ok(arguments: arguments).text == box.ok(arguments: arguments).text, "\(arguments)")
        }
        // A masked export imported back changes nothing (*** keeps the stored secret); an empty cell removes.
        let masked = try box.ok("export").text
        #expect(!masked.contains("pw-line-1") && !masked.contains("own-key-1"))
        let before = try box.ok("render", "000e08abcdef").text
        try box.ok("import", try box.write("masked.csv", masked))
        #expect(try box.ok("render", "000e08abcdef").text == before)
        try box.ok("import", try box.write("unset.csv", "mac,set:Display_Name_1_\n000e08abcdef,\n"))
        #expect(!(try box.ok("render", "000e08abcdef").text.contains("Display_Name_1_")))
        // The import is one change set; reverting it puts the setting back.
        let set = try #require((try box.ok("history", "--json").json() as? [[String: Any]])?.first?["id"] as? Int)
        try box.ok("revert", String(set))
        #expect(try box.ok("render", "000e08abcdef").text == before)
        #expect(try box.provctl("import", try box.write("bad.csv", "mac,set:Resync_Periodic\n000e08abcdef,soon\n")).status == 65)
    }
}
