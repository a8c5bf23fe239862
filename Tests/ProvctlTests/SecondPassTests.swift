import Foundation
@testable import Provisioning
@testable import ProvisioningAdmin
import Testing

/// Real phones, second pass (issue 20): the two empty intents end to end, the leniency phones have, strict `set`,
/// and the real profiles of Tests/Fixtures/real (other projects' files, sources in SOURCES.md) checked back leaf
/// for leaf by expat (Tests/Fixtures/real/leaves.py), a parser independent of provctl's libxml2.
@Suite("real phones, second pass: empty vs leave, leniency, real profiles")
struct SecondPassTests {
    static let real = RealProfileTests.root.appendingPathComponent("Tests/Fixtures/real")
    static let realFixtures: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: real.path)) ?? [])
        .filter { $0.hasSuffix(".xml") }.sorted()

    @Test("import keeps <X></X> (blank, comment-only) as empty and <X/> as leave; render serves them apart")
    func importKeepsBothIntents() throws {
        let box = try Sandbox()
        let file = try box.write("intents.xml", """
            <flat-profile>
              <GPP_A></GPP_A>
              <GPP_B/>
              <Speed_Dial_2_2_ ua="rw"/>
              <GPP_D> <!-- cleared on purpose --> </GPP_D>
              <GPP_E>
              </GPP_E>
              <Station_Name>Front</Station_Name>
            </flat-profile>

            """)
        try box.ok("import-profile", file, "--scope", "default")
        try box.ok("device", "add", "000e08abcdef")
        let rendered = try box.ok("render", "000e08abcdef").text
        for element in ["<GPP_A></GPP_A>", "<GPP_B/>", "<Speed_Dial_2_2_ ua=\"rw\"/>", "<GPP_D></GPP_D>", "<GPP_E></GPP_E>",
                        "<Station_Name>Front</Station_Name>"] {
            #expect(rendered.contains(element), "\(element) in \(rendered)")
        }
        #expect(try box.sql("SELECT name || '=' || intent FROM settings WHERE value = '' ORDER BY name")
                == "GPP_A=empty\nGPP_B=keep\nGPP_D=empty\nGPP_E=empty\nSpeed_Dial_2_2_=keep")
        // explain says which; the history records it.
        #expect(try box.ok("explain", "000e08abcdef", "GPP_A").text.contains("is empty, empty: sets the phone's value to empty"))
        #expect(try box.ok("explain", "000e08abcdef", "GPP_B").text.contains("is empty, leave: the phone keeps its own value"))
        let explained = try box.ok("explain", "000e08abcdef", "GPP_B", "--json").text
        #expect(explained.contains("\"intent\": \"keep\""), "\(explained)")
    }

    @Test("set NAME= renders <NAME></NAME>; --leave NAME renders <NAME/> with its ua; values stay strict for set")
    func setSpellsBothIntents() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef")
        try box.ok("set", "default", "GPP_A=", "--ua", "na")
        try box.ok("set", "default", "--leave", "Speed_Dial_2_2_", "--ua", "rw")
        let rendered = try box.ok("render", "000e08abcdef").text
        #expect(rendered.contains("<GPP_A ua=\"na\"></GPP_A>"), "\(rendered)")
        #expect(rendered.contains("<Speed_Dial_2_2_ ua=\"rw\"/>"), "\(rendered)")
        // The diff of a change from empty to leave shows the element changing form.
        let dry = try box.provctl("set", "default", "--leave", "GPP_A", "--dry-run", "--diff")
        #expect(dry.status == 2 && dry.text.contains("-  <GPP_A ua=\"na\"></GPP_A>") && dry.text.contains("+  <GPP_A ua=\"na\"/>"),
                "\(dry)")
        let history = try box.ok("history").text
        #expect(history.contains("[empty]") && history.contains("[leave]"), "\(history)")
        // Value rules are strict for set: a value outside the values the phones list is refused, nothing written.
        let refused = try box.provctl("set", "default", "Share_Ext_1_=maybe")
        #expect(refused.status == 65 && refused.stderr.contains("Share_Ext_1_") && refused.stderr.contains("shared"), "\(refused)")
        #expect(try box.sql("SELECT count(*) FROM settings WHERE name = 'Share_Ext_1_'") == "0")
        for value in ["CP-8800-Audio", "CP-8800-Video", "BEKEM", "DP-9800-KEM"] {
            try box.ok("set", "default", "KEM_Type=\(value)")
        }
        try box.ok("set", "default", "Share_Ext_1_=private")
        #expect(try box.provctl("set", "default", "--leave", "not a name").status == 64)
    }

    @Test("rows stored before schema 9 are served <X/> as before; check lists them; settle-empty decides, revert undoes")
    func unknownIntentIsSettledByTheAdmin() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef")
        try box.ok("set", "default", "GPP_A=x")
        _ = try box.sql("INSERT INTO settings (scope, target, part, name, value, ua) VALUES ('default', '', '', 'GPP_L', '', 'rw')")
        _ = try box.sql("INSERT INTO settings (scope, target, part, name, value) VALUES ('group', 'sales', '', 'GPP_M', '')")
        #expect(try box.ok("render", "000e08abcdef").text.contains("<GPP_L ua=\"rw\"/>"))
        let check = try box.provctl("check", "--json")
        #expect(check.text.contains("default GPP_L") && check.text.contains("intent unknown"), "\(check)")
        #expect(check.text.contains("group:sales GPP_M"), "\(check)")
        #expect(try box.provctl("settle-empty", "--as", "sometimes").status == 64)
        try box.ok("settle-empty", "--as", "empty", "--scope", "default")
        #expect(try box.ok("render", "000e08abcdef").text.contains("<GPP_L ua=\"rw\"></GPP_L>"))
        #expect(try box.sql("SELECT name || '=' || ifnull(intent, 'null') FROM settings WHERE value = '' ORDER BY name")
                == "GPP_L=empty\nGPP_M=null")
        let after = try box.provctl("check", "--json")
        #expect(!after.text.contains("default GPP_L") && after.text.contains("group:sales GPP_M"), "\(after)")
        let entry = try box.sql("SELECT max(id) FROM audit")
        try box.ok("revert", entry)
        #expect(try box.ok("render", "000e08abcdef").text.contains("<GPP_L ua=\"rw\"/>"))
        try box.ok("settle-empty", "--as", "leave")
        #expect(try box.sql("SELECT count(*) FROM settings WHERE value = '' AND intent IS NULL") == "0")
        #expect(try box.ok("render", "000e08abcdef").text.contains("<GPP_L ua=\"rw\"/>"))
    }

    @Test("what phones read is imported with a warning naming the line; the bytes win over a declared encoding")
    func lenientWherePhonesAre() throws {
        let box = try Sandbox()
        let file = box.path("lenient.xml")
        let text = "\n<?xml version=\"1.0\" encoding=\"iso-8859-2\"?>\n<flat-profile>\n<!-- a -- comment --->\n"
            + "<Station_Name>São Paulo</Station_Name>\n<Firmware_Version>1.2.1 (004)</Firmware_Version>\n"
            + "<Resync_On_Reset>yes</Resync_On_Reset>\n</flat-profile>\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let imported = try box.provctl("import-profile", file, "--scope", "default")
        #expect(imported.status == 0, "\(imported)")
        let lines = imported.stderr.split(separator: "\n")
        #expect(lines.contains { $0.contains("warning") && $0.contains("lenient.xml:2:") && $0.contains("white space before") })
        #expect(lines.contains { $0.contains("warning") && $0.contains("lenient.xml:2:") && $0.contains("iso-8859-2") })
        #expect(lines.contains { $0.contains("warning") && $0.contains("lenient.xml:4:") && $0.contains("--") })
        #expect(lines.allSatisfy { $0.contains("warning") }, "\(imported.stderr)")
        try box.ok("device", "add", "000e08abcdef")
        let rendered = try box.ok("render", "000e08abcdef").text
        #expect(rendered.contains("<Station_Name>São Paulo</Station_Name>"), "\(rendered)")
        #expect(rendered.contains("<Firmware_Version>1.2.1 (004)</Firmware_Version>"))
        #expect(rendered.contains("<Resync_On_Reset>yes</Resync_On_Reset>"), "a value comes back byte for byte")
        // --strict refuses the same file (warnings), and what no phone could parse is refused.
        #expect(try box.provctl("import-profile", file, "--scope", "default", "--strict").status == 65)
        let broken = try box.write("broken.xml", "<flat-profile>\n<GPP_A>x</GPP_B>\n</flat-profile>\n")
        let refused = try box.provctl("import-profile", broken, "--scope", "default")
        #expect(refused.status == 65 && refused.stderr.contains("broken.xml: line 2"), "\(refused)")
        // A file whose bytes are not UTF-8 keeps its declaration: libxml2 converts it.
        let latin = box.path("latin.xml")
        try Data([UInt8]("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<flat-profile><GPP_C>S".utf8) + [0xE3]
                 + [UInt8]("o</GPP_C></flat-profile>\n".utf8)).write(to: URL(fileURLWithPath: latin))
        let converted = try box.provctl("import-profile", latin, "--scope", "default")
        #expect(converted.status == 0 && !converted.stderr.contains("encoding"), "\(converted)")
        #expect(try box.ok("render", "000e08abcdef").text.contains("<GPP_C>São</GPP_C>"))
    }

    @Test("claims: a claim whose serial (certificate's, else User-Agent's) is a device's names that device")
    func claimsFindTheDeviceBySerial() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "CBT141900G7")
        _ = try box.journalSQL("""
            INSERT INTO claims (mac, node, serial, model, remote_addr, user_agent, first_seen, last_seen, count)
            VALUES ('000e08000009', 'n1', NULL, 'SPA525G', '192.0.2.9', 'Cisco/SPA525G-7.4.7 (CBT141900G7)', 1, 2, 1),
                   ('000e08000008', 'n1', 'NOSUCH', 'CP-8841-3PCC', '192.0.2.8', NULL, 1, 2, 1)
            """)
        let listed = try box.ok("claims", "--json").text
        #expect(listed.contains("\"device_with_serial\": \"000e08abcdef\""), "\(listed)")
        #expect(try box.ok("claims").text.contains("000e08abcdef"))
    }

    @Test("no hint renames a plausible real name of another firmware")
    func hints() {
        #expect(ParameterCatalogue.nearest(to: "Display_Name_1") == nil)
        #expect(ParameterCatalogue.nearest(to: "LDAP_Item_4_filter") == nil)
        #expect(ParameterCatalogue.nearest(to: "share_ext_1_") == "Share_Ext_1_")
        #expect(ParameterCatalogue.nearest(to: "Resync_Periodc") == "Resync_Periodic")
        #expect(ParameterCatalogue.isKnown("LDAP_item_4_Filter") && ParameterCatalogue.isKnown("Speed_Dial_3"))
        #expect(ParameterCatalogue.values(for: "KEM_Type").contains("CP-8800-Audio"))
    }

    @Test("drift: what a profile leaves to the phone is not drift; what it empties is")
    func driftRespectsIntent() {
        let device = Device(mac: MACAddress("000e08abcdef")!)
        let expected = [
            "GPP_A": ResolvedParameter(name: "GPP_A", value: "", access: nil, scope: .all, template: "", intent: .keep),
            "GPP_B": ResolvedParameter(name: "GPP_B", value: "", access: nil, scope: .all, template: "", intent: .empty),
            "GPP_C": ResolvedParameter(name: "GPP_C", value: "", access: nil, scope: .all, template: "", intent: nil),
        ]
        let entries = Drift.compare(expected: expected, reported: [("GPP_A", "mine"), ("GPP_B", "left over"), ("GPP_C", "x")],
                                    device: device)
        #expect(entries.map(\.name) == ["GPP_B"])
    }

    @Test("each real profile of another project imports (exit 0, warnings with their line), at most 5 % of its names unknown, and comes back leaf for leaf (expat): values, ua, empty and leave forms",
          arguments: realFixtures)
    func realProfileComesBack(_ name: String) throws {
        let box = try Sandbox()
        let path = Self.real.appendingPathComponent(name).path
        let imported = try box.provctl("import-profile", path, "--scope", "default")
        #expect(imported.status == 0, "\(imported)")
        let warnings = imported.stderr.split(separator: "\n")
        #expect(warnings.allSatisfy { $0.contains("warning") && $0.contains("\(name):") }, "\(imported.stderr)")
        let names = try #require(Int(try run("python3", [Self.real.appendingPathComponent("leaves.py").path, "--count", path])
            .text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let unknown = warnings.filter { $0.contains("not a parameter name") }.count
        #expect(Double(unknown) <= 0.05 * Double(names), "\(name): \(unknown) of \(names) names unknown")
        #expect(!imported.stderr.contains("did you mean"), "\(imported.stderr)")
        try box.ok("device", "add", "000e08abcdef")
        let rendered = try box.write("rendered.xml", try box.ok("render", "000e08abcdef").text)
        let lint = try run("xmllint", ["--noout", rendered])
        #expect(lint.status == 0, "\(lint)")
        let compared = try run("python3", [Self.real.appendingPathComponent("leaves.py").path, path, rendered])
        #expect(compared.status == 0, "\(name): \(compared.text)")
    }
}
