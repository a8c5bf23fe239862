import Foundation
@testable import Provisioning
@testable import ProvisioningAdmin
import Testing

@Suite("Rendering the flat-profile")
struct RenderingTests {
    let device = Device(mac: phoneMAC, serial: phoneSerial, model: phoneModel, group: "sales")

    func identity(ou: String = phoneModel) -> ClientIdentity {
        ClientIdentity(mac: phoneMAC, serial: phoneSerial, model: ou,
                       fields: ["ou": ou, "l": phoneSerial, "st": phoneMAC.hex], source: .variables)
    }

    func render(_ settings: [Setting], _ variables: [Variable] = [], identity: ClientIdentity? = nil) throws(SettingsError) -> String {
        let resolved = try ResolvedSettings(layers: Layers(settings: settings, variables: variables), device: device,
                                            identity: identity ?? self.identity())
        return String(decoding: FlatProfile.render(resolved.parameters), as: UTF8.self)
    }

    /// Checks `xml` with xmllint (an independent parser) and returns its text content of `element`.
    func xmllint(_ xml: String, element: String) throws -> String {
        let directory = try TemporaryDirectory()
        let path = try write(Array(xml.utf8), to: directory.path("p.xml"))
        let valid = try run("xmllint", ["--noout", path])
        #expect(valid.status == 0, "xmllint: \(valid.stderr)")
        let text = try run("xmllint", ["--xpath", "string(/flat-profile/\(element))", path])
        // xmllint ends its output with a newline of its own.
        return text.text.hasSuffix("\n") ? String(text.text.dropLast()) : text.text
    }

    @Test func layersMergeLaterWins() throws {
        let xml = try render([
            Setting(scope: .all, name: "Resync_Periodic", value: "3600"),
            Setting(scope: .model(phoneModel), name: "Resync_Periodic", value: "1800"),
            Setting(scope: .group("sales"), name: "Resync_Periodic", value: "900"),
            Setting(scope: .device(phoneMAC), name: "Resync_Periodic", value: "60"),
            Setting(scope: .all, name: "Display_Name_1_", value: "Default"),
            Setting(scope: .group("sales"), name: "Display_Name_1_", value: "Sales"),
            Setting(scope: .model(phoneModel), name: "Dial_Plan_1_", value: "(xx.)"),
        ].shuffled())
        #expect(xml == """
            <flat-profile>
              <Dial_Plan_1_>(xx.)</Dial_Plan_1_>
              <Display_Name_1_>Sales</Display_Name_1_>
              <Resync_Periodic>60</Resync_Periodic>
            </flat-profile>

            """)
    }

    @Test func storeLayersOnlyThisDevicesScopes() throws {
        let directory = try TemporaryDirectory()
        let other = MACAddress("000e08000001")!
        let path = try makeDatabase(in: directory, devices: [device, Device(mac: other)], settings: [
            Setting(scope: .all, name: "A", value: "default"),
            Setting(scope: .model(phoneModel), name: "B", value: "model"),
            Setting(scope: .model("CP-7841-3PCC"), name: "B", value: "other model"),
            Setting(scope: .group("sales"), name: "C", value: "group"),
            Setting(scope: .group("support"), name: "C", value: "other group"),
            Setting(scope: .device(phoneMAC), name: "D", value: "device"),
            Setting(scope: .device(other), name: "D", value: "other device"),
        ])
        let store = try ConfigurationEditor(path: path, mode: .readOnly)
        let layers = try store.layers(model: phoneModel, group: "sales", mac: phoneMAC)
        #expect(Set(layers.settings.map(\.value)) == ["default", "model", "group", "device"])
    }

    @Test func uaIsInheritedWhenTheWinningRowHasNone() throws {
        let xml = try render([
            Setting(scope: .all, name: "Admin_Passwd", value: "x", access: .na),
            Setting(scope: .device(phoneMAC), name: "Admin_Passwd", value: "y"),
            Setting(scope: .all, name: "Station_Name", value: "a", access: .na),
            Setting(scope: .device(phoneMAC), name: "Station_Name", value: "b", access: .rw),
        ])
        #expect(xml.contains(#"<Admin_Passwd ua="na">y</Admin_Passwd>"#))
        #expect(xml.contains(#"<Station_Name ua="rw">b</Station_Name>"#))
    }

    @Test func emptyValuesAndOrder() throws {
        let xml = try render([
            Setting(scope: .all, name: "b_", value: "1"),
            Setting(scope: .all, name: "GPP_B", value: ""),
            Setting(scope: .all, name: "a_", value: "", access: .ro),
            Setting(scope: .all, name: "B_", value: "2"),
        ])
        #expect(xml == "<flat-profile>\n  <B_>2</B_>\n  <GPP_B/>\n  <a_ ua=\"ro\"/>\n  <b_>1</b_>\n</flat-profile>\n")
    }

    @Test func textIsEscapedAndAnInjectedOUStaysText() throws {
        let evil = "</GPP_D><Admin_Passwd>x</Admin_Passwd>"
        let xml = try render([
            Setting(scope: .all, name: "GPP_D", value: "OU={{cert.ou}}"),
            Setting(scope: .all, name: "GPP_A", value: #"a & b < c > d "e" 'f'"#),
        ], identity: identity(ou: evil))
        #expect(!xml.contains("<Admin_Passwd>"))
        #expect(try xmllint(xml, element: "GPP_D") == "OU=" + evil)
        #expect(try xmllint(xml, element: "GPP_A") == #"a & b < c > d "e" 'f'"#)
        #expect(try xmllint(xml, element: "Admin_Passwd").isEmpty)
    }

    @Test func charactersXMLForbidsAreReplaced() throws {
        let xml = try render([Setting(scope: .all, name: "GPP_C", value: "{{cert.ou}}")], identity: identity(ou: "a\u{1}b"))
        #expect(xml.contains("<GPP_C>a\u{FFFD}b</GPP_C>"))
        #expect(try xmllint(xml, element: "GPP_C") == "a\u{FFFD}b")
    }

    @Test func serverVariables() throws {
        let xml = try render([
            Setting(scope: .all, name: "GPP_A",
                    value: "{{mac}} {{mac_upper}} {{mac_colon}} {{serial}} {{model}} {{group}} {{ cert.l }} {{cert.st}} {{cert.cn}}"),
        ])
        #expect(xml.contains("<GPP_A>000e08abcdef 000E08ABCDEF 00:0e:08:ab:cd:ef 88012BA01234 CP-8841-3PCC sales 88012BA01234 000e08abcdef </GPP_A>"))
    }

    @Test func reflectorLine() throws {
        let xml = try render([Setting(scope: .all, name: "GPP_D", value: "OU={{cert.ou}}, L={{cert.l}}, S={{cert.st}}")])
        #expect(xml.contains("<GPP_D>OU=CP-8841-3PCC, L=88012BA01234, S=000e08abcdef</GPP_D>"))
    }

    @Test func variablesAreLayeredAndMayNest() throws {
        let xml = try render([
            Setting(scope: .all, name: "Proxy_1_", value: "{{sip_host}}"),
            Setting(scope: .all, name: "User_ID_1_", value: "{{ext}}"),
        ], [
            Variable(scope: .all, name: "domain", value: "example.com"),
            Variable(scope: .group("sales"), name: "domain", value: "sales.example.com"),
            Variable(scope: .all, name: "sip_host", value: "sip.{{domain}}"),
            Variable(scope: .all, name: "ext", value: "100"),
            Variable(scope: .device(phoneMAC), name: "ext", value: "4711"),
            Variable(scope: .device(MACAddress("000e08000001")!), name: "ext", value: "9"),
        ].filter { $0.scope != .device(MACAddress("000e08000001")!) })
        #expect(xml.contains("<Proxy_1_>sip.sales.example.com</Proxy_1_>"))
        #expect(xml.contains("<User_ID_1_>4711</User_ID_1_>"))
    }

    @Test func phoneMacrosPassThrough() throws {
        let rule = "[--key $B] ( $PN == \"CP-8841-3PCC\" )? https://prov.example.com/prov/$MA.cfg?sn=$SN&a=$(A)&x=$MAU$$"
        let xml = try render([Setting(scope: .all, name: "Profile_Rule", value: rule)])
        #expect(try xmllint(xml, element: "Profile_Rule") == rule)
    }

    @Test func undefinedVariableIsASettingsErrorNamingIt() {
        do {
            _ = try render([Setting(scope: .all, name: "Proxy_1_", value: "{{sip_host}}")])
            Issue.record("expected an error")
        } catch {
            #expect(error == .undefinedVariable("sip_host"))
            #expect(error.description.contains("{{sip_host}}"))
        }
    }

    @Test func unknownCertificateFieldIsUndefinedButAMissingStandardOneIsEmpty() throws {
        #expect(try render([Setting(scope: .all, name: "GPP_A", value: "[{{cert.o}}]")]).contains("<GPP_A>[]</GPP_A>"))
        do {
            _ = try render([Setting(scope: .all, name: "GPP_A", value: "{{cert.nonsense}}")])
            Issue.record("expected an error")
        } catch {
            #expect(error == .undefinedVariable("cert.nonsense"))
        }
    }

    @Test func variableLoopIsALoopError() {
        do {
            _ = try render([Setting(scope: .all, name: "GPP_A", value: "{{a}}")],
                           [Variable(scope: .all, name: "a", value: "{{b}}"), Variable(scope: .all, name: "b", value: "{{a}}")])
            Issue.record("expected an error")
        } catch {
            #expect(error == .loop(depth: 8))
        }
    }

    @Test func unterminatedBracesStayText() throws {
        #expect(try render([Setting(scope: .all, name: "GPP_A", value: "{{mac")]).contains("<GPP_A>{{mac</GPP_A>"))
    }

    @Test func parameterNames() {
        for name in ["Resync_Periodic", "Display_Name_1_", "XML_Directory_Service_URL", "_x", "a.b-c",
                     "router-configuration/Time_Setup/Time_Server", "a/Rule[2]/b", "a/b[0012]"] {
            #expect(XMLText.isValidName(name), "\(name)")
        }
        for name in ["", "1abc", "Bad Name", "a<b", "a//b", "/a", "a/", "a/b[x]", "a/b[]", "a/[1]", "Rule[2]x/y",
                     "a/b[12345]", "a/b/c/d/e/f/g/h/i", "ü", String(repeating: "a", count: 129)] {
            #expect(!XMLText.isValidName(name), "\(name)")
        }
    }

    @Test func unsortedRowsFromAnyCallerComeOutSorted() throws {
        let xml = try render([
            Setting(scope: .device(phoneMAC), name: "b", value: "3"),
            Setting(scope: .all, name: "c", value: "1"),
            Setting(scope: .all, name: "a", value: "1"),
            Setting(scope: .device(phoneMAC), name: "a", value: "2"),
            Setting(scope: .model(phoneModel), name: "c", value: "2"),
        ])
        #expect(xml == "<flat-profile>\n  <a>2</a>\n  <b>3</b>\n  <c>2</c>\n</flat-profile>\n")
    }

    @Test func badParameterNameInTheDatabaseIsAnError() {
        do {
            _ = try render([Setting(scope: .all, name: "Bad Name", value: "1")])
            Issue.record("expected an error")
        } catch {
            #expect(error == .invalidName("Bad Name", scope: "default"))
        }
    }

    /// The CGI renders from bytes (`ConfigurationStore.layerRows`, `FlatProfile.render(_:_:)`); `provctl` and the tests
    /// above go through values (`Layers`, `ResolvedSettings`). Both must give the same bytes, for every kind of
    /// row: escapes, non-ASCII, variables at several scopes, ua inheritance, and bytes that are not UTF-8 (written
    /// behind provctl's back with sqlite3), which both turn into U+FFFD.
    @Test func theCGIsBytePathAndTheValuePathAgree() throws {
        let directory = try TemporaryDirectory()
        let path = try makeDatabase(in: directory, devices: [device], settings: [
            Setting(scope: .all, name: "Admin_Passwd", value: "{{admin}}", access: .na),
            Setting(scope: .device(phoneMAC), name: "Admin_Passwd", value: "{{ admin }}!"),
            Setting(scope: .all, name: "Display_Name_1_", value: "Zoë & <Søren> 'x' \"y\""),
            Setting(scope: .model(phoneModel), name: "Station_Name", value: "{{model}}-{{cert.ou}}-{{serial}}", access: .ro),
            Setting(scope: .group("sales"), name: "Text", value: "{{site}} $MA {{ unterminated"),
            Setting(scope: .all, name: "Empty", value: ""),
        ], variables: [
            Variable(scope: .all, name: "admin", value: "default-{{site}}"),
            Variable(scope: .device(phoneMAC), name: "admin", value: "device-{{site}}"),
            Variable(scope: .all, name: "site", value: "hq"),
            Variable(scope: .group("sales"), name: "site", value: "branch ☎"),
        ])
        let raw = try SQLiteDatabase(path: path, mode: .readWrite)
        try raw.execute("""
            INSERT INTO settings (scope, target, name, value) VALUES ('default', '', 'Broken', CAST(X'41C3284220E282' AS TEXT))
            """)
        let store = try ConfigurationEditor(path: path, mode: .readOnly)
        let viaBytes = try ProfileService.profile(store: store.store, device: device, identity: identity(), form: .xml)
        let layers = try store.layers(model: phoneModel, group: "sales", mac: phoneMAC)
        let viaValues = FlatProfile.render(try ResolvedSettings(layers: layers, device: device, identity: identity()).parameters)
        #expect(viaBytes == viaValues)
        let xml = String(decoding: viaBytes, as: UTF8.self)
        #expect(xml.contains("<Admin_Passwd ua=\"na\">device-branch ☎!</Admin_Passwd>"))
        #expect(xml.contains("<Display_Name_1_>Zoë &amp; &lt;Søren&gt; &apos;x&apos; &quot;y&quot;</Display_Name_1_>"))
        #expect(xml.contains("<Station_Name ua=\"ro\">\(phoneModel)-\(phoneModel)-\(phoneSerial)</Station_Name>"))
        #expect(xml.contains("<Text>branch ☎ $MA {{ unterminated</Text>"))
        #expect(xml.contains("<Broken>A\u{FFFD}(B \u{FFFD}</Broken>"))
        #expect(xml.contains("<Empty></Empty>"), "an empty value stored without an intent means empty (set NAME=)")
        _ = try xmllint(xml, element: "Broken")
    }

    /// Nested blocks (the adapters' `<router-configuration>`) are stored one leaf a row, named by path, and both
    /// renderings write them back nested: blocks opened and closed around their leaves, a repeated block's `[n]`
    /// keeping the copies apart and in order, a leaf of a block overridden at the device scope.
    @Test func nestedBlocksRenderInPlaceBothWays() throws {
        let directory = try TemporaryDirectory()
        let path = try makeDatabase(in: directory, devices: [device], settings: [
            Setting(scope: .all, name: "A_First", value: "1"),
            Setting(scope: .all, name: "router-configuration/Time_Setup/Time_Server", value: "ntp.example.com"),
            Setting(scope: .device(phoneMAC), name: "router-configuration/Time_Setup/Time_Server", value: "{{site}}.ntp"),
            Setting(scope: .all, name: "router-configuration/Time_Setup/Time_Zone", value: "+01 2 2", access: .na),
            Setting(scope: .all, name: "router-configuration/Pool/Rule[1]/Port", value: "80"),
            Setting(scope: .all, name: "router-configuration/Pool/Rule[2]/Port", value: "25 & 26"),
            Setting(scope: .all, name: "router-configuration/Reset_Button_Enable", value: "0"),
            Setting(scope: .all, name: "router-configuration/SSH/SSH_ACCESS", value: ""),
            Setting(scope: .all, name: "Z_Last", value: "2"),
        ], variables: [Variable(scope: .all, name: "site", value: "branch")])
        let store = try ConfigurationEditor(path: path, mode: .readOnly)
        let viaBytes = try ProfileService.profile(store: store.store, device: device, identity: identity(), form: .xml)
        let layers = try store.layers(model: phoneModel, group: "sales", mac: phoneMAC)
        let viaValues = FlatProfile.render(try ResolvedSettings(layers: layers, device: device, identity: identity()).parameters)
        #expect(viaBytes == viaValues)
        let xml = String(decoding: viaBytes, as: UTF8.self)
        #expect(xml == """
            <flat-profile>
              <A_First>1</A_First>
              <Z_Last>2</Z_Last>
              <router-configuration>
                <Pool>
                  <Rule>
                    <Port>80</Port>
                  </Rule>
                  <Rule>
                    <Port>25 &amp; 26</Port>
                  </Rule>
                </Pool>
                <Reset_Button_Enable>0</Reset_Button_Enable>
                <SSH>
                  <SSH_ACCESS></SSH_ACCESS>
                </SSH>
                <Time_Setup>
                  <Time_Server>branch.ntp</Time_Server>
                  <Time_Zone ua="na">+01 2 2</Time_Zone>
                </Time_Setup>
              </router-configuration>
            </flat-profile>

            """)
        #expect(try xmllint(xml, element: "router-configuration/Time_Setup/Time_Server") == "branch.ntp")
        #expect(try xmllint(xml, element: "router-configuration/Pool/Rule[2]/Port") == "25 & 26")
    }
}

@Suite("The CGI's queries")
struct QueryTests {
    @Test func spelledOutQueriesMatchTheirParts() {
        #expect(ConfigurationStore.deviceQuery == "SELECT \(ConfigurationStore.deviceColumns) FROM devices WHERE mac = ?1")
        #expect(ConfigurationStore.accountQuery == "SELECT \(ConfigurationStore.deviceColumns) FROM devices WHERE account_user = ?1")
        #expect(ConfigurationStore.serialQuery == "SELECT \(ConfigurationStore.deviceColumns) FROM devices WHERE serial = ?1 LIMIT 2")
        #expect(ConfigurationStore.deviceColumns.hasPrefix("mac, serial, model, group_name, enabled, "))
    }

    /// The CGI reads the layers with one statement per scope (`ConfigurationStore.layerRows`), provctl with the query of
    /// `layers`: the same rows at the same scopes, for every scope, settings and variables, `ua`, partitions, and a
    /// device without a model or group.
    @Test func perScopeStatementsReadWhatLayersReads() throws {
        let directory = try TemporaryDirectory()
        let other = MACAddress("00562b000002")!
        let devices = [Device(mac: phoneMAC, serial: phoneSerial, model: phoneModel, group: "sales"),
                       Device(mac: other, serial: "FCH2", model: nil, group: nil)]
        let settings = [
            Setting(scope: .all, name: "A", value: "default {{v}}", access: .na),
            Setting(scope: .model(phoneModel), name: "A", value: "model"),
            Setting(scope: .model("CP-6851-3PCC"), name: "B", value: "other model"),
            Setting(scope: .group("sales"), name: "C", value: "group", access: .rw),
            Setting(scope: .group("support"), name: "C", value: "other group"),
            Setting(scope: .device(phoneMAC), name: "D", value: "device", access: .ro),
            Setting(scope: .device(other), name: "D", value: "other device"),
            Setting(scope: .device(phoneMAC), name: "E", value: "part", partition: "p1"),
        ]
        let variables = [Variable(scope: .all, name: "v", value: "0"), Variable(scope: .model(phoneModel), name: "v", value: "1"),
                         Variable(scope: .group("sales"), name: "v", value: "2"), Variable(scope: .device(phoneMAC), name: "v", value: "3"),
                         Variable(scope: .group("support"), name: "v", value: "x")]
        let store = try ConfigurationStore(serving: try makeDatabase(in: directory, devices: devices, settings: settings,
                                                               variables: variables))
        for device in devices {
            for partition in ["", "p1"] {
                let identity = ClientIdentity(mac: device.mac, serial: device.serial, model: device.model, fields: [:],
                                              source: .variables)
                let served = try store.layerRows(model: device.model, group: device.group, mac: device.mac, partition: partition)
                let layers = try ConfigurationEditor(store: store).layers(model: device.model, group: device.group, mac: device.mac, partition: partition)
                let listed = LayerRows(layers, model: device.model, group: device.group, mac: device.mac)
                #expect(served.count == listed.count)
                #expect(try served.parameters(served.resolve(device: device, identity: identity))
                        == listed.parameters(listed.resolve(device: device, identity: identity)))
            }
        }
        // The served rows of the first device: four settings and its four variables, each at its own scope.
        let served = try store.layerRows(model: phoneModel, group: "sales", mac: phoneMAC)
        #expect(served.count == 8)
        #expect((0..<served.count).map { served.scope($0) } == [.all, .all, .model(phoneModel), .model(phoneModel),
                                                                 .group("sales"), .group("sales"), .device(phoneMAC), .device(phoneMAC)])
    }
}
