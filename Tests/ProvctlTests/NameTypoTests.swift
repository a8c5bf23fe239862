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
