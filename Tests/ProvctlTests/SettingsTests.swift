import Foundation
import Testing

@Suite("provctl set, unset, var, unvar, settings, variables, explain")
struct SettingsTests {
    @Test("set and unset at every scope; settings lists them; unset of a missing name is 3 and changes nothing")
    func setUnset() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef")
        try box.ok("set", "default", "Resync_Periodic=3600", "--ua", "na")
        try box.ok("set", "model:CP-8841-3PCC", "Resync_Periodic=1800")
        try box.ok("set", "group:sales", "Display_Name_1_=Sales & Co <1>")
        try box.ok("set", "device:00:0e:08:ab:cd:ef", "Password_1_=hunter2")
        #expect(try box.sql("SELECT scope || '|' || target || '|' || name || '|' || value || '|' || ifnull(ua,'') FROM settings ORDER BY scope, name")
                == "default||Resync_Periodic|3600|na\ndevice|000e08abcdef|Password_1_|hunter2|\ngroup|sales|Display_Name_1_|Sales & Co <1>|\nmodel|CP-8841-3PCC|Resync_Periodic|1800|")
        // Setting again without --ua keeps the stored ua.
        try box.ok("set", "default", "Resync_Periodic=7200")
        #expect(try box.sql("SELECT value || '|' || ua FROM settings WHERE scope = 'default'") == "7200|na")

        let all = try box.ok("settings").text
        #expect(all.contains("Sales & Co <1>"))
        #expect(all.contains("***"))
        #expect(!all.contains("hunter2"))
        #expect(try box.ok("settings", "--show-secrets").text.contains("hunter2"))
        let json = try #require(try box.ok("settings", "group:sales", "--json").json() as? [[String: Any]])
        #expect(json.count == 1)
        #expect(json.first?["name"] as? String == "Display_Name_1_")

        let before = try box.dump()
        let missing = try box.provctl("unset", "default", "Resync_Periodic", "No_Such_Name")
        #expect(missing.status == 3)
        #expect(try box.dump() == before)
        try box.ok("unset", "default", "Resync_Periodic")
        #expect(try box.sql("SELECT count(*) FROM settings WHERE scope = 'default'") == "0")
        #expect(try box.provctl("set", "nowhere", "A=1").status == 64)
        #expect(try box.provctl("set", "default", "NoEquals").status == 64)
        #expect(try box.provctl("set", "default", "A=1", "--ua", "xx").status == 64)
    }

    @Test("var and unvar; variables lists them, masking secret ones")
    func variables() throws {
        let box = try Sandbox()
        try box.ok("var", "default", "sip_domain=example.com", "sip_password=topsecret", "pin=1234")
        try box.ok("set", "default", "GPP_SA={{pin}}")
        try box.ok("var", "group:sales", "sip_domain=sales.example.com")
        let listed = try box.ok("vars").text
        #expect(listed.contains("sales.example.com"))
        #expect(!listed.contains("topsecret"))
        #expect(!listed.contains("1234"), "pin feeds GPP_SA, a secret")
        #expect(try box.ok("variables", "--show-secrets").text.contains("topsecret"))
        #expect(try box.provctl("var", "default", "cert.ou=x").status == 65)
        #expect(try box.provctl("var", "default", "mac=x").status == 65)
        #expect(try box.provctl("var", "default", "bad name=x").status == 65)
        try box.ok("unvar", "group:sales", "sip_domain")
        #expect(try box.sql("SELECT count(*) FROM variables WHERE scope = 'group'") == "0")
        #expect(try box.provctl("unvar", "group:sales", "sip_domain").status == 3)
    }

    @Test("explain names the winning scope, the overridden ones and the resolved value")
    func explain() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("var", "device:000e08abcdef", "ext=101")
        try box.ok("set", "default", "Station_Name=Phone {{ext}}", "--ua", "ro")
        try box.ok("set", "group:sales", "Station_Name=Sales {{ext}}")
        let text = try box.ok("explain", "00:0e:08:ab:cd:ef", "Station_Name").text
        #expect(text.contains("Station_Name = Sales 101"))
        #expect(text.contains("group:sales"))
        #expect(text.contains("overridden"))
        let json = try #require(try box.ok("explain", "000e08abcdef", "Station_Name", "--json").json() as? [String: Any])
        #expect(json["scope"] as? String == "group:sales")
        #expect(json["value"] as? String == "Sales 101")
        #expect(json["ua"] as? String == "ro", "ua inherited from the default scope")
        #expect((json["layers"] as? [Any])?.count == 2)
        let variable = try box.ok("explain", "000e08abcdef", "{{ext}}").text
        #expect(variable.contains("101"))
        #expect(variable.contains("device:000e08abcdef"))
        #expect(try box.provctl("explain", "000e08abcdef", "Not_Set").status == 3)
        #expect(try box.provctl("explain", "000e08000000", "Station_Name").status == 3)
    }
}

@Suite("validation on save")
struct ValidationTests {
    /// (assignment, expected exit status).
    static let cases: [(String, Int32)] = [
        ("Resync_Periodic=3600", 0), ("Resync_Periodic=600,1200,300", 0), ("Resync_Periodic=2400+30", 0),
        ("Resync_Periodic=0", 0), ("Resync_Periodic=abc", 65), ("Resync_Periodic=", 65), ("Resync_Periodic=-5", 65),
        ("Resync_Error_Retry_Delay=30,60,,90", 65), ("Upgrade_Error_Retry_Delay=3600+60,7200", 0),
        ("Resync_At__HHmm_=0959", 0), ("Resync_At__HHmm_=", 0), ("Resync_At__HHmm_=2400", 0),
        ("Resync_At__HHmm_=2401", 65), ("Resync_At__HHmm_=0960", 65), ("Resync_At__HHmm_=959", 65),
        ("Resync_Random_Delay=65535", 0), ("Resync_Random_Delay=65536", 65), ("Forced_Resync_Delay=14400", 0),
        ("Forced_Resync_Delay=x", 65), ("Resync_At_Random_Delay=600", 0),
        ("Provision_Enable=Yes", 0), ("Provision_Enable=no", 0), ("Provision_Enable=maybe", 65),
        ("Resync_Fails_On_FNF=1", 65), ("Line_Enable_2_=Yes", 0), ("Line_Enable_2_=true", 65),
        ("Privacy_Header_1_=Disabled", 0), ("Privacy_Header_10_=session", 0), ("Privacy_Header_3_=secret", 65),
        ("Profile_Rule=https://prov.example.com/$MA.cfg", 0), ("Profile_Rule=/$PSN.xml", 0),
        ("Profile_Rule=[--key \"a phrase\"] https://prov.example.com/$MA.cfg", 0),
        ("Profile_Rule_B=[--uid u --pwd p] http://h/p.xml", 0), ("Profile_Rule_C=[--uid u] http://h/p.xml", 65),
        ("Profile_Rule=( $SWVER ne 1.0 )? ( $A = 1; $B = 2 )! [--key k] tftp://h/p.cfg | http://backup/p.cfg", 0),
        ("Profile_Rule=[--key k https://h/p", 65), ("Profile_Rule=[--colour k] https://h/p", 65),
        ("Profile_Rule=ftp://h/p", 65), ("Profile_Rule=( cond ) http://h/p", 65), ("Profile_Rule=[--key k]", 65),
        ("Profile_Rule=http://h/p |", 65), ("Profile_Rule=", 0),
        // Forms the MPP guides print (7832/8800 MPP admin guides, Provisioning): activation-code onboarding, a
        // server from DNS SRV, an alias, assignments alone, alternatives each but the last with a condition.
        ("Profile_Rule=gds://", 0), ("Profile_Rule=[--srv] https://prov.example.com/$PSN.xml", 0),
        ("Profile_Rule_B=[--alias a --key \"a phrase\"] https://h/$MA.cfg", 0), ("Profile_Rule_C=( $A = 1; $B = 2 )!", 0),
        ("Profile_Rule=( $PN == CP-8841-3PCC )? https://a/p.xml | ( $A = 1 )! https://b/p.xml", 0),
        ("Profile_Rule=https://a/p.xml | https://b/p.xml", 65), ("Profile_Rule=[--alias] https://h/p", 65),
        ("Profile_Rule=[--srv --srv] https://h/p", 65),
        ("Upgrade_Rule=http://fw.example.com/sip88xx.12-0-1MPP.loads", 0), ("Upgrade_Rule=/sip.loads", 65),
        ("Upgrade_Rule=[--key k] http://h/f.loads", 65),
        ("Upgrade_Rule=( $SWVER ne sip88xx.12-0-1MPP )? http://fw/sip88xx.12-0-1MPP.loads", 0),
        ("1Bad_Name=1", 65), ("XML_Directory_Service_Name=Dir", 0), (".Name=1", 65), ("Bad<Name=1", 65), ("Display_Name_1_=a\u{1}b", 65),
        ("Display_Name_1_=ok \u{e9} & <tag>", 0), ("Totally_Unknown_Parameter=1", 0),
        ("Resync_Periodic={{period}}", 0),
    ]

    @Test("each rule accepts and refuses", arguments: cases)
    func rule(_ assignment: String, _ expected: Int32) throws {
        let box = try Sandbox()
        let before = try box.dump()
        let outcome = try box.provctl("set", "default", assignment)
        #expect(outcome.status == expected, "\(assignment): \(outcome)")
        if expected == 65 {
            let name = String(assignment.prefix { $0 != "=" })
            #expect(outcome.stderr.contains(name), "the refusal names the parameter")
            #expect(try box.dump() == before, "nothing stored")
        }
    }

    @Test("a case variant of Yes/No is stored as Yes/No with a warning; unknown names warn")
    func normaliseAndWarn() throws {
        let box = try Sandbox()
        let outcome = try box.ok("set", "default", "Provision_Enable=yes", "Resync_On_Reset=NO", "Resync_Periodc=60")
        #expect(try box.sql("SELECT group_concat(value, ',') FROM (SELECT value FROM settings WHERE name LIKE 'Resync_On%' OR name = 'Provision_Enable' ORDER BY name)") == "Yes,No")
        #expect(outcome.stderr.contains("stored as Yes"))
        #expect(outcome.stderr.contains("Resync_Periodc: not a parameter name"))
        #expect(outcome.stderr.contains("did you mean Resync_Periodic?"))
    }

    @Test("a refusal names the rule and masks secrets: the --key, the --pwd and a password")
    func refusalMasksSecrets() throws {
        let box = try Sandbox()
        let rule = try box.provctl("set", "default", "Profile_Rule=[--key sekrit-key --pwd sekrit-pwd --uid u --bad x] https://h/p")
        #expect(rule.status == 65)
        #expect(rule.stderr.contains("unknown option"))
        #expect(!rule.stderr.contains("sekrit"))
        let password = try box.provctl("set", "default", "Password_1_=sekrit\u{7}")
        #expect(password.status == 65)
        #expect(password.stderr.contains("Password_1_=\"***\""))
        #expect(password.stderr.contains("XML 1.0 forbids"))
        #expect(!password.stderr.contains("sekrit"))
    }

    @Test("several assignments: one bad value refuses them all")
    func allOrNothing() throws {
        let box = try Sandbox()
        let outcome = try box.provctl("set", "default", "Resync_Periodic=60", "Resync_At__HHmm_=9999")
        #expect(outcome.status == 65)
        #expect(try box.sql("SELECT count(*) FROM settings") == "0")
    }
}
