import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing

@Suite("provctl claims, adopt, history, help")
struct AdminTests {
    @Test("claims lists callers without a device; adopt makes them devices and removes the claim")
    func claimsAndAdopt() throws {
        let box = try Sandbox()
        _ = try box.journalSQL("""
            INSERT INTO claims (mac, node, serial, model, remote_addr, user_agent, first_seen, last_seen, count)
            VALUES ('000e08abcdef', 'n1', 'FCH123', 'CP-8841-3PCC', '10.1.2.3', 'Cisco-CP-8841-3PCC/12.0.1 (000e08abcdef)', 1700000000, 1700000500, 4),
                   ('000e08abcd01', 'n1', 'FCH456', 'CP-7841-3PCC', '10.1.2.4', NULL, 1700000000, 1700000000, 1)
            """)
        let listed = try box.ok("claims").text
        #expect(listed.contains("FCH123") && listed.contains("10.1.2.3"))
        let json = try #require(try box.ok("claims", "--json").json() as? [[String: Any]])
        #expect(json.first?["mac"] as? String == "000e08abcdef", "most recent first")
        #expect(json.first?["count"] as? Int == 4)

        try box.ok("adopt", "00:0e:08:ab:cd:ef", "--group", "sales")
        #expect(try box.sql("SELECT mac || '|' || serial || '|' || model || '|' || group_name FROM devices") == "000e08abcdef|FCH123|CP-8841-3PCC|sales")
        #expect(try box.ok("claims", "--json").text.contains("000e08abcd01"))
        #expect(!(try box.ok("claims", "--json").text.contains("000e08abcdef")), "adopted: no claim any more")
        #expect(try box.provctl("adopt", "000e08abcdef", "--group", "sales").status == 4, "already a device")
        _ = try box.journalSQL("INSERT OR REPLACE INTO claims (mac, node, first_seen, last_seen) VALUES ('000e08abcdef', 'n1', 1, 1)")
        #expect(try box.provctl("adopt", "000e08abcdef").status == 4, "already a device")
        let before = try box.dump()
        #expect(try box.provctl("adopt", "000e08abcd01", "--group", "x", "--dry-run").status == 2)
        #expect(try box.dump() == before)
    }

    @Test("every change is audited with who, old and new; secrets are stored masked; history filters by MAC")
    func history() throws {
        let box = try Sandbox()
        let env = ["SUDO_USER": "alice"]
        #expect(try box.provctl(arguments: ["device", "add", "000e08abcdef", "--encrypt", "aes-256-cbc", "--key", "key-phrase-1"], environment: env).status == 0)
        try box.ok("set", "device:000e08abcdef", "Password_1_=hunter2", "Display_Name_1_=Desk")
        try box.ok("set", "device:000e08abcdef", "Display_Name_1_=Front Desk")
        try box.ok("set", "default", "Profile_Rule=[--key pk-secret --uid u --pwd pwd-secret] https://h/$MA.cfg")
        try box.ok("var", "default", "sip_password=var-secret")
        try box.ok("device", "edit", "000e08abcdef", "--key", "key-phrase-2")
        try box.ok("device", "add", "000e08abcd01")
        let audit = try box.sql("SELECT who || '|' || action || '|' || ifnull(target,'') || '|' || ifnull(old_value,'') || '|' || ifnull(new_value,'') FROM audit ORDER BY id")
        for secret in ["key-phrase-1", "key-phrase-2", "hunter2", "pk-secret", "pwd-secret", "var-secret"] {
            #expect(!audit.contains(secret), "\(secret) in the audit log")
        }
        #expect(audit.contains("alice|device add|000e08abcdef"))
        #expect(audit.contains("tester|set|device:000e08abcdef Display_Name_1_|Desk|Front Desk"))
        let history = try box.ok("history", "00:0e:08:ab:cd:ef").text
        #expect(history.contains("Front Desk"))
        #expect(history.contains("device edit"))
        #expect(!history.contains("000e08abcd01"))
        #expect(!history.contains("Profile_Rule"))
        let all = try #require(try box.ok("history", "--json", "--limit", "2").json() as? [[String: Any]])
        #expect(all.count == 2)
        #expect(all.first?["action"] as? String == "device add")
    }

    @Test("every subcommand has help with an example; completions are printed")
    func helpAndCompletions() throws {
        let box = try Sandbox()
        let top = try box.ok("--help").text
        #expect(top.contains("Exit status"))
        for command in [["init"], ["device", "add"], ["device", "show"], ["device", "list"], ["device", "edit"],
                        ["device", "enable"], ["device", "disable"], ["device", "remove"], ["device", "replace"],
                        ["set"], ["unset"], ["var"], ["unvar"], ["settings"], ["variables"], ["explain"], ["render"],
                        ["check"], ["claims"], ["adopt"], ["import"], ["export"], ["import-profile"], ["history"],
                        ["completions"]] {
            let help = try box.provctl(arguments: ["help"] + command)
            #expect(help.status == 0, "\(command)")
            #expect(help.text.contains("Example"), "\(command) help has no example")
        }
        let bash = try box.ok("completions", "bash").text
        #expect(bash.contains("_provctl"))
        #expect(try box.ok("--generate-completion-script", "zsh").text.contains("#compdef provctl"))
        #expect(try box.provctl("completions", "tcsh").status == 64)
    }
}

@Suite("rules in the core")
struct RuleUnitTests {
    @Test func secondsLists() {
        #expect(ParameterRules.secondsListProblem("600,1200,300") == nil)
        #expect(ParameterRules.secondsListProblem("2400+30,3600") == nil)
        #expect(ParameterRules.secondsListProblem("2400+") != nil)
        #expect(ParameterRules.secondsListProblem("1+2+3") != nil)
    }

    @Test func masking() {
        #expect(Secrets.maskRule("[--key \"a b\" --uid u --pwd p] http://h/x") == "[--key *** --uid u --pwd ***] http://h/x")
        #expect(Secrets.maskRule("[--key k]http://h") == "[--key ***]http://h")
        #expect(Secrets.mask(name: "GPP_SB", value: "x") == "***")
        #expect(Secrets.mask(name: "Display_Name_1_", value: "x") == "x")
        #expect(Secrets.isSecret("Admin_Password") && Secrets.isSecret("SIP_Passwd") && !Secrets.isSecret("GPP_A"))
    }

    @Test func catalogue() {
        #expect(ParameterCatalogue.isKnown("Display_Name_12_"))
        #expect(!ParameterCatalogue.isKnown("Display_Name_01_"))
        #expect(ParameterCatalogue.isBoolean("Line_Enable_3_"))
        #expect(ParameterCatalogue.patterns.count > 600)
        #expect(ParameterCatalogue.nearest(to: "resync_periodic") == "Resync_Periodic")
    }

    @Test func rules() throws {
        #expect(RuleSyntax.problem(in: "( $PN eq \"CP-8841\" )? [--key k] https://h/$PN.cfg", allowsOptions: true, requiresServer: false) == nil)
        #expect(RuleSyntax.problem(in: "h.example.com/p.xml", allowsOptions: true, requiresServer: true) == nil)
        #expect(RuleSyntax.problem(in: "https://h/p x", allowsOptions: true, requiresServer: false) != nil)
        let checked = try ParameterRules.check(name: "Resync_On_Reset", value: "yes")
        #expect(checked.value == "Yes")
    }
}
