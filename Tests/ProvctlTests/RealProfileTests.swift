import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import ProvisioningAdmin
import Testing

/// The profiles real phones run, imported and served back: the fixtures in Tests/Fixtures/profiles (written by
/// tools/catalogue/generate.py from the material it names; Tests/Fixtures/profiles/SOURCES.md
/// says where each comes from).
@Suite("real profiles: catalogue, import-profile, render")
struct RealProfileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let catalogueFolder = root.appendingPathComponent("Sources/ProvisioningAdmin/Catalogue")
    static let generator = root.appendingPathComponent("tools/catalogue/generate.py")
    static let fixtures = ["cp9861-mpp12-export.xml", "cp8851-mpp11-device-root.xml", "cp7841-mpp11-template.xml",
                           "spa525g2-export.xml", "spa112-ata-nested.xml"]

    static func fixture(_ name: String) -> String {
        root.appendingPathComponent("Tests/Fixtures/profiles").appendingPathComponent(name).path
    }

    @Test("the built-in catalogue is catalogue.tsv, and generate.py reproduces it and the fixtures")
    func catalogueIsTheDataFile() throws {
        let file = try String(contentsOf: Self.catalogueFolder.appendingPathComponent("catalogue.tsv"), encoding: .utf8)
        #expect(file == ParameterCatalogue.text)
        let check = try run("python3", [Self.generator.path, "--check"])
        #expect(check.status == 0, "\(check)")
        // Every line has its four columns and names its sources.
        for line in file.split(separator: "\n") where !line.hasPrefix("#") {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            #expect(columns.count == 4 && !columns[0].isEmpty && !columns[3].isEmpty, "\(line)")
        }
    }

    @Test("every documented spelling: Share_Ext shared|private and Yes|No, BLF_List Show|Hide; typos get a hint")
    func spellings() throws {
        for value in ["Yes", "No", "shared", "private"] {
            let checked = try ParameterRules.check(name: "Share_Ext_3_", value: value)
            #expect(checked.warnings.isEmpty, "\(value): \(checked.warnings)")
            #expect(checked.value == value)
        }
        for value in ["Show", "Hide"] {
            #expect(try ParameterRules.check(name: "BLF_List", value: value).warnings.isEmpty)
        }
        #expect(try ParameterRules.check(name: "Share_Ext_3_", value: "sometimes").warnings.first?.contains("not a value the phones list") == true)
        #expect(try ParameterRules.check(name: "Work_Days", value: "Monday|Friday").warnings.isEmpty)
        #expect(ParameterCatalogue.isBoolean("Line_Enable_3_"))
        #expect(!ParameterCatalogue.isBoolean("Share_Ext_1_"))
        #expect(ParameterCatalogue.isKnown("router-configuration/Time_Setup/Time_Server"))
        #expect(ParameterCatalogue.isKnown("router-configuration/DHCP_Server_Pool/Rule[2]/Local_IP"))
        #expect(ParameterCatalogue.isKnown("Unit_2_Extension_40_"))
        #expect(ParameterCatalogue.nearest(to: "Resync_Periodc") == "Resync_Periodic")
        #expect(ParameterCatalogue.nearest(to: "Display_Nmae_2_") == "Display_Name_2_")
        #expect(ParameterCatalogue.nearest(to: "share_ext_1_") == "Share_Ext_1_")
        let typo = try ParameterRules.check(name: "Resync_Periodc", value: "60")
        #expect(typo.warnings.first?.contains("did you mean Resync_Periodic?") == true)
    }

    @Test("each fixture imports with exit 0, at most 5 % of its names unknown, and renders back value for value",
          arguments: fixtures)
    func importAndRenderBack(_ name: String) throws {
        let box = try Sandbox()
        let path = Self.fixture(name)
        let imported = try box.provctl("import-profile", path, "--scope", "default")
        #expect(imported.status == 0, "\(imported)")
        let warnings = imported.stderr.split(separator: "\n")
        #expect(warnings.allSatisfy { $0.contains("warning") }, "\(imported.stderr)")
        let count = Int(imported.text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let unknown = warnings.filter { $0.contains("not a parameter name") }.count
        #expect(count > 100)
        #expect(Double(unknown) <= 0.05 * Double(count), "\(unknown) of \(count) names unknown")

        try box.ok("device", "add", "000e08abcdef")
        let rendered = try box.ok("render", "000e08abcdef")
        let out = try box.write("rendered.xml", rendered.text)
        // xmllint, an independent reader, finds the served document well-formed.
        let lint = try run("xmllint", ["--noout", out])
        #expect(lint.status == 0, "\(lint)")

        let original = try Leaves(contentsOf: path)
        let served = try Leaves(contentsOf: out)
        #expect(original.values.count > 100)
        for (key, value) in original.values {
            guard let back = served.values[key] else {
                Issue.record("\(name): \(key) is missing from the rendered profile")
                continue
            }
            let same = back == value || (["yes", "no"].contains(value.lowercased()) && back.lowercased() == value.lowercased())
            #expect(same, "\(name): \(key): \(value.debugDescription) came back as \(back.debugDescription)")
        }
        #expect(Set(served.values.keys) == Set(original.values.keys))
        // ua comes back too: as written, `RW` as `rw`, an unknown spelling dropped.
        for (key, ua) in original.access {
            let expected = ["na", "ro", "rw"].contains(ua.lowercased()) ? ua.lowercased() : nil
            #expect(served.access[key] == expected, "\(name): \(key) ua=\(ua)")
        }
        #expect(served.access.count == original.access.filter { ["na", "ro", "rw"].contains($0.value.lowercased()) }.count)
        #expect(served.blocks == original.blocks, "nested blocks in the same places")
    }

    @Test("--strict refuses a file that has warnings and writes nothing; without it the same file imports")
    func strict() throws {
        let box = try Sandbox()
        let before = try box.dump()
        let refused = try box.provctl("import-profile", Self.fixture("cp8851-mpp11-device-root.xml"), "--scope", "model:CP-8851-3PCC", "--strict")
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stderr.contains("--strict"))
        #expect(refused.stderr.contains("ua=\"RW\""))
        #expect(try box.dump() == before)
        let clean = try box.provctl("import-profile", Self.fixture("spa112-ata-nested.xml"), "--scope", "default", "--strict")
        #expect(clean.status == 0, "a file without warnings passes --strict: \(clean)")
    }

    @Test("every problem of a file in one run, each with its line; only what cannot be stored refuses it")
    func everyProblemAtOnce() throws {
        let box = try Sandbox()
        let lenient = """
            <flat-profile>
              <Resync_Periodic>soon</Resync_Periodic>
              <Resync_At__HHmm_>9999</Resync_At__HHmm_>
              <Profile_Rule>ftp://old.example.com/$MA.xml</Profile_Rule>
              <Line_Enable_1_ ua="all">maybe</Line_Enable_1_>
              <GPP_A>1</GPP_A>
              <GPP_A>2</GPP_A>
              <Resync_Periodc>60</Resync_Periodc>
              stray text
            </flat-profile>
            """
        let outcome = try box.provctl("import-profile", try box.write("lenient.xml", lenient), "--scope", "default")
        #expect(outcome.status == 0, "\(outcome)")
        for expected in ["lenient.xml:2: Resync_Periodic=\"soon\": seconds", "lenient.xml:3: Resync_At__HHmm_",
                         "lenient.xml:4: Profile_Rule", "lenient.xml:5: Line_Enable_1_=\"maybe\": a boolean",
                         "lenient.xml:5: Line_Enable_1_ ua=\"all\"", "lenient.xml:7: GPP_A repeated (first on line 6)",
                         "lenient.xml:8: Resync_Periodc: not a parameter name", "did you mean Resync_Periodic?",
                         "lenient.xml:9: text outside any parameter"] {
            #expect(outcome.stderr.contains(expected), "\(expected) in \(outcome.stderr)")
        }
        #expect(outcome.stderr.split(separator: "\n").allSatisfy { $0.contains("warning") })
        #expect(try box.sql("SELECT value FROM settings WHERE name = 'Resync_Periodic'") == "soon", "kept as the phone runs it")
        #expect(try box.sql("SELECT value || '|' || ifnull(ua, '') FROM settings WHERE name = 'Line_Enable_1_'") == "maybe|")
        #expect(try box.sql("SELECT value FROM settings WHERE name = 'GPP_A'") == "2")
        // `provctl set` stays strict about the same values.
        #expect(try box.provctl("set", "default", "Resync_Periodic=soon").status == 65)

        let before = try box.dump()
        let unstorable = """
            <flat-profile>
              <GPP_B>fine</GPP_B>
              <a:b xmlns:a="urn:x">1</a:b>
              <GPP_C>also fine</GPP_C>
              <ünïcode>2</ünïcode>
            </flat-profile>
            """
        let refused = try box.provctl("import-profile", try box.write("unstorable.xml", unstorable), "--scope", "default")
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stderr.contains("2 parameter(s) cannot be stored"))
        #expect(refused.stderr.contains("unstorable.xml:3:") && refused.stderr.contains("unstorable.xml:5:"))
        #expect(try box.dump() == before)

        let broken = "<flat-profile>\n<A>1</B>\n<C>2</D>\n</flat-profile>\n"
        let notXML = try box.provctl("import-profile", try box.write("broken.xml", broken), "--scope", "default")
        #expect(notXML.status == 65)
        #expect(notXML.stderr.contains("broken.xml: line 2:") && notXML.stderr.contains("broken.xml: line 3:"), "\(notXML.stderr)")
        #expect(try box.dump() == before)
    }

    @Test("repeated blocks inside a block stay apart and in order, and an admin can set one leaf of a block")
    func repeatedBlocks() throws {
        let box = try Sandbox()
        let text = """
            <flat-profile>
              <router-configuration>
                <Port_Forwarding>
                  <Rule><Name>web</Name><Port>80</Port></Rule>
                  <Rule><Name>mail</Name><Port>25</Port></Rule>
                  <Rule><Name>ssh</Name><Port>22</Port></Rule>
                </Port_Forwarding>
                <Empty_Section></Empty_Section>
              </router-configuration>
            </flat-profile>
            """
        try box.ok("import-profile", try box.write("blocks.xml", text), "--scope", "default")
        #expect(try box.sql("SELECT group_concat(name, ' ') FROM (SELECT name FROM settings ORDER BY name)")
                == "router-configuration/Empty_Section router-configuration/Port_Forwarding/Rule[1]/Name router-configuration/Port_Forwarding/Rule[1]/Port router-configuration/Port_Forwarding/Rule[2]/Name router-configuration/Port_Forwarding/Rule[2]/Port router-configuration/Port_Forwarding/Rule[3]/Name router-configuration/Port_Forwarding/Rule[3]/Port")
        try box.ok("device", "add", "000e08abcdef")
        try box.ok("set", "device:000e08abcdef", "router-configuration/Port_Forwarding/Rule[2]/Port=2525")
        let rendered = try box.ok("render", "000e08abcdef").text
        #expect(rendered == """
            <flat-profile>
              <router-configuration>
                <Empty_Section></Empty_Section>
                <Port_Forwarding>
                  <Rule>
                    <Name>web</Name>
                    <Port>80</Port>
                  </Rule>
                  <Rule>
                    <Name>mail</Name>
                    <Port>2525</Port>
                  </Rule>
                  <Rule>
                    <Name>ssh</Name>
                    <Port>22</Port>
                  </Rule>
                </Port_Forwarding>
              </router-configuration>
            </flat-profile>

            """)
    }
}

/// The leaf values of a flat-profile read with Foundation's XMLParser (not the reader provctl uses): each leaf by
/// its path below <flat-profile>, a repeated top-level name keeping its last value (as the phone does), repeated
/// elements inside a block numbered in order; values trimmed of spaces, tabs and line breaks as the phone trims
/// them.
final class Leaves: NSObject, XMLParserDelegate {
    private(set) var values: [String: String] = [:]
    /// The `ua` attribute of each leaf that has one.
    private(set) var access: [String: String] = [:]
    /// The path of every block (element with element children), in document order.
    private(set) var blocks: [String] = []

    private final class Node {
        var name: String
        var ua: String?
        var text = ""
        var children: [Node] = []
        init(_ name: String) { self.name = name }
    }

    private var stack: [Node] = []
    private var root: Node?

    init(contentsOf path: String) throws {
        super.init()
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        parser.delegate = self
        guard parser.parse(), var top = root else {
            throw TestFailure("\(path): \(parser.parserError.map { "\($0)" } ?? "no root")")
        }
        if top.name == "device", let inner = top.children.first(where: { $0.name == "flat-profile" }) { top = inner }
        flatten(top.children, path: "", topLevel: true)
        blocks.sort()
    }

    private func flatten(_ nodes: [Node], path: String, topLevel: Bool) {
        var counts: [String: Int] = [:], seen: [String: Int] = [:]
        if !topLevel { for node in nodes { counts[node.name, default: 0] += 1 } }
        for node in nodes {
            var segment = node.name
            if let count = counts[node.name], count > 1 {
                seen[node.name, default: 0] += 1
                segment += "#\(seen[node.name]!)"
            }
            let full = path.isEmpty ? segment : path + "/" + segment
            if node.children.isEmpty {
                values[full] = Self.trimmed(node.text)
                access[full] = node.ua
            } else {
                blocks.append(full)
                flatten(node.children, path: full, topLevel: false)
            }
        }
    }

    static func trimmed(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars[...]
        let space: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        while let first = scalars.first, space(first) { scalars.removeFirst() }
        while let last = scalars.last, space(last) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        let node = Node(elementName)
        node.ua = attributes["ua"]
        if let parent = stack.last { parent.children.append(node) } else { root = node }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }
}
