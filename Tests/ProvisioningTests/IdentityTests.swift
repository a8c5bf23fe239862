import Provisioning
@testable import ProvisioningAdmin
import Testing

@Suite("MAC addresses and User-Agent")
struct MACAddressTests {
    @Test(arguments: ["000e08abcdef", "000E08ABCDEF", "00:0e:08:ab:cd:ef", "00-0E-08-AB-CD-EF", "000e.08ab.cdef"])
    func everySpellingNormalises(_ spelling: String) throws {
        let mac = try #require(MACAddress(spelling))
        #expect(mac.hex == "000e08abcdef")
        #expect(mac.upper == "000E08ABCDEF")
        #expect(mac.colon == "00:0e:08:ab:cd:ef")
    }

    @Test(arguments: ["", "000e08abcde", "000e08abcdeg", "00:0e:08-ab:cd:ef", "000e08abcdef0", "00:0e:08:ab:cd:e:f", "ciscogeneric"])
    func malformedIsRejected(_ spelling: String) {
        #expect(MACAddress(spelling) == nil)
    }

    @Test func fileNamesThatSpellAMAC() {
        #expect(MACAddress.named(inFileName: "000E08ABCDEF")?.hex == "000e08abcdef")
        #expect(MACAddress.named(inFileName: "00:0e:08:ab:cd:ef")?.hex == "000e08abcdef")
        #expect(MACAddress.named(inFileName: "spa000e08abcdef")?.hex == "000e08abcdef")
        #expect(MACAddress.named(inFileName: "CP-8841-3PCC_000e08abcdef")?.hex == "000e08abcdef")
        #expect(MACAddress.named(inFileName: "CP-8841-3PCC") == nil)
        #expect(MACAddress.named(inFileName: "8841") == nil)
        #expect(MACAddress.named(inFileName: "cp8841000e08abcdef") == nil)
    }

    @Test func userAgentIsParsedLoosely() {
        let agent = UserAgent("Cisco-CP-8841-3PCC/11.0 (00562b043615)")
        #expect(agent.product == "CP-8841-3PCC")
        #expect(agent.firmware == "11.0")
        #expect(agent.mac?.hex == "00562b043615")
        let other = UserAgent("curl/8.0")
        #expect(other.product == nil)
        #expect(other.firmware == "8.0")
        #expect(UserAgent("").firmware == nil)
    }

    /// Every User-Agent shape of FACTS §2, each a real string with its source: product, firmware, and the
    /// identifier from the last bracketed group(s) (12 hex digits: the MAC; anything else: the serial).
    static let realAgents: [(text: String, product: String?, firmware: String?, mac: String?, serial: String?, source: String)] = [
        ("Cisco-CP-8841-3PCC/11.0 (00562b043615)", "CP-8841-3PCC", "11.0", "00562b043615", nil, "Cisco MPP guides (FACTS §2)"),
        ("Cisco-CP-7832-3PCC/11.0.1 (00562b043615)", "CP-7832-3PCC", "11.0.1", "00562b043615", nil,
         "wazo-provd-plugins plugins/wazo_cisco_sip/v11_3_1/common.py"),
        ("Cisco/SPA112-1.4.1(SR5) (88755A000001)", "SPA112", "1.4.1(SR5)", "88755a000001", nil, "FACTS §2"),
        ("Cisco/ATA192-12.0.1(SR3) (88755A000003)", "ATA192", "12.0.1(SR3)", "88755a000003", nil,
         "a PHP provisioning project's tests (search index), FACTS §2 shape"),
        ("Linksys/SPA-942-6.1.5(a) (88019FA42805)", "SPA-942", "6.1.5(a)", "88019fa42805", nil,
         "wazo-provd-plugins plugins/wazo_cisco_spa/common/common.py"),
        ("Linksys/SPA-962-6.1.5(a) (4MM00F903042)", "SPA-962", "6.1.5(a)", nil, "4MM00F903042",
         "wazo-provd-plugins plugins/wazo_cisco_spa/common/common.py (12 characters, not hex: a serial)"),
        ("Cisco/SPA501G-7.4.4 (8843E157DDCC)(CBT141100HR)", "SPA501G", "7.4.4", "8843e157ddcc", "CBT141100HR",
         "wazo-provd-plugins plugins/wazo_cisco_spa/common/common.py"),
        ("Cisco/SPA508G-7.4.8a (0002FDFF2103)(CBT141400UK)", "SPA508G", "7.4.8a", "0002fdff2103", "CBT141400UK",
         "wazo-provd-plugins plugins/wazo_cisco_spa/common/common.py"),
        ("Cisco/SPA525G-7.4.7 (CBT141900G7)", "SPA525G", "7.4.7", nil, "CBT141900G7",
         "wazo-provd-plugins plugins/wazo_cisco_spa/common/common.py"),
        ("Cisco/ATA191-MPP-11-1-0-MSR4 (FCH2443D9R4)", "ATA191-MPP", "11-1-0-MSR4", nil, "FCH2443D9R4",
         "wazo-provd-plugins plugins/wazo_cisco_sip/v11_1_0/common.py"),
        ("Cisco/SPA525G-7.4.9a", "SPA525G", "7.4.9a", nil, nil, "a SIP trace in a public repository's tests (no identifier)"),
    ]

    @Test("each real User-Agent shape: product, firmware, MAC or serial from the last brackets",
          arguments: realAgents.indices)
    func realUserAgents(_ index: Int) {
        let row = Self.realAgents[index]
        let agent = UserAgent(row.text)
        #expect(agent.product == row.product, "\(row.text) (\(row.source))")
        #expect(agent.firmware == row.firmware, "\(row.text) (\(row.source))")
        #expect(agent.mac?.hex == row.mac, "\(row.text) (\(row.source))")
        #expect(agent.serial == row.serial, "\(row.text) (\(row.source))")
    }

    @Test func userAgentBracketsThatAreNoIdentifier() {
        // The firmware's own brackets are never the identifier; trailing text after the brackets makes them none.
        #expect(UserAgent("Cisco/SPA112-1.4.1(SR5)").mac == nil)
        #expect(UserAgent("Cisco/SPA112-1.4.1(SR5)").serial == nil)
        #expect(UserAgent("Cisco/SPA112-1.4.1(SR5) (88755A000001) extra").mac == nil)
        #expect(UserAgent("Cisco-CP-8841-3PCC/11.0 (00562b043615) ").mac?.hex == "00562b043615")
        #expect(UserAgent("x (a b)").serial == nil)
        #expect(UserAgent("(").mac == nil)
        #expect(UserAgent(" ()").serial == nil)
    }
}

@Suite("Who is calling")
struct IdentityTests {
    @Test func guideFormFromVariables() throws {
        let identity = try ClientIdentity.from(environment: [
            "SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_S_DN_OU": "CP-8841-3PCC",
            "SSL_CLIENT_S_DN_L": "88012BA01234", "SSL_CLIENT_S_DN_ST": "000E08ABCDEF",
        ])
        #expect(identity.mac.hex == "000e08abcdef")
        #expect(identity.serial == "88012BA01234")
        #expect(identity.model == "CP-8841-3PCC")
        #expect(identity.source == .variables)
        #expect(identity.fields["st"] == "000E08ABCDEF")
    }

    @Test func guideFormWithSurnameAsS() throws {
        // mod_ssl's _S is surname: a certificate made with SN=<mac> lands there.
        let identity = try ClientIdentity.from(environment: [
            "SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_S_DN_OU": "CP-7841-3PCC",
            "SSL_CLIENT_S_DN_L": "FCH1", "SSL_CLIENT_S_DN_S": "00:0e:08:ab:cd:ef",
        ])
        #expect(identity.mac.hex == "000e08abcdef")
        #expect(identity.model == "CP-7841-3PCC")
    }

    @Test func commonNameFormFromDistinguishedNameOnly() throws {
        // Older Apache exports serialNumber only inside SSL_CLIENT_S_DN.
        let identity = try ClientIdentity.from(environment: [
            "SSL_CLIENT_VERIFY": "SUCCESS",
            "SSL_CLIENT_S_DN": "CN=CP-8861-SEP2C3124C9F8E1,OU=CTG,O=Cisco Systems Inc.,serialNumber=PID:CP-8861 SN:FCH2133E8B9",
            "SSL_CLIENT_S_DN_CN": "CP-8861-SEP2C3124C9F8E1", "SSL_CLIENT_S_DN_OU": "CTG",
            "SSL_CLIENT_S_DN_O": "Cisco Systems Inc.",
        ])
        #expect(identity.mac.hex == "2c3124c9f8e1")
        #expect(identity.serial == "FCH2133E8B9")
        #expect(identity.model == "CP-8861")
        #expect(identity.fields["o"] == "Cisco Systems Inc.")
        #expect(identity.fields["serialnumber"] == "PID:CP-8861 SN:FCH2133E8B9")
    }

    @Test func commonNameFormFromSerialNumberVariable() throws {
        let identity = try ClientIdentity.from(environment: [
            "SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_S_DN_CN": "CP-8861-SEP2C3124C9F8E1",
            "SSL_CLIENT_S_DN_SerialNumber": "PID:CP-8861 SN:FCH2133E8B9",
        ])
        #expect(identity.mac.hex == "2c3124c9f8e1")
        #expect(identity.serial == "FCH2133E8B9")
    }

    @Test func distinguishedNameEscapes() throws {
        let identity = try ClientIdentity.from(environment: [
            "SSL_CLIENT_VERIFY": "SUCCESS",
            "SSL_CLIENT_S_DN": #"ST=000e08abcdef,L=88012BA01234,OU=A\,B \"C\" \2B"#,
        ])
        #expect(identity.model == #"A,B "C" +"#)
        #expect(identity.mac.hex == "000e08abcdef")
    }

    @Test func guideFormFromPEM() throws {
        let directory = try TemporaryDirectory()
        let pem = try makeCertificate(subject: "/OU=CP-8841-3PCC/L=88012BA01234/ST=000e08abcdef", in: directory)
        // The variables disagree on purpose: the certificate itself wins.
        let identity = try ClientIdentity.from(environment: [
            "SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": pem, "SSL_CLIENT_S_DN_ST": "ffffffffffff",
        ])
        #expect(identity.source == .certificate)
        #expect(identity.mac.hex == "000e08abcdef")
        #expect(identity.serial == "88012BA01234")
        #expect(identity.model == "CP-8841-3PCC")
    }

    @Test func commonNameFormFromPEM() throws {
        let directory = try TemporaryDirectory()
        let pem = try makeCertificate(
            subject: "/serialNumber=PID:CP-8861 SN:FCH2133E8B9/O=Cisco Systems Inc./OU=CTG/CN=CP-8861-SEP2C3124C9F8E1",
            in: directory)
        let identity = try ClientIdentity.from(environment: ["SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": pem])
        #expect(identity.mac.hex == "2c3124c9f8e1")
        #expect(identity.serial == "FCH2133E8B9")
        #expect(identity.model == "CP-8861")
        #expect(identity.fields["ou"] == "CTG")
        #expect(identity.fields["cn"] == "CP-8861-SEP2C3124C9F8E1")
    }

    @Test func pemSubjectAttributesByOID() throws {
        let directory = try TemporaryDirectory()
        let pem = try makeCertificate(subject: "/C=US/ST=000e08abcdef/L=Zürich/O=Acme/OU=One/OU=Two/CN=x", in: directory)
        let attributes = try CertificateSubject.attributes(pem: pem)
        #expect(attributes.map(\.oid) == ["2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.10", "2.5.4.11", "2.5.4.11", "2.5.4.3"])
        #expect(attributes[2].value == "Zürich")
        let identity = try ClientIdentity.from(environment: ["SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": pem])
        #expect(identity.fields["ou"] == "One")
        #expect(identity.fields["ou_1"] == "Two")
    }

    @Test func pemWithNewlinesAsSpaces() throws {
        let directory = try TemporaryDirectory()
        let pem = try makeCertificate(subject: "/OU=CP-8841-3PCC/L=1/ST=000e08abcdef", in: directory)
        let flattened = pem.split(separator: "\n").joined(separator: " ")
        let identity = try ClientIdentity.from(environment: ["SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": flattened])
        #expect(identity.mac.hex == "000e08abcdef")
    }

    @Test func garbagePEMIsRefused() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        do {
            _ = try ClientIdentity.from(environment: ["SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": pem])
            Issue.record("expected a refusal")
        } catch {
            #expect(error.refusal.status == 403)
            #expect(error.refusal.reason == "unreadable certificate")
        }
    }

    static let refusals: [([String: String], String)] = [
        (["SSL_CLIENT_S_DN_ST": "000e08abcdef"], "certificate not verified"),
        (["SSL_CLIENT_VERIFY": "NONE", "SSL_CLIENT_S_DN_ST": "000e08abcdef"], "certificate not verified"),
        (["SSL_CLIENT_VERIFY": "GENEROUS", "SSL_CLIENT_S_DN_ST": "000e08abcdef"], "certificate not verified"),
        (["SSL_CLIENT_VERIFY": "FAILED:certificate has expired", "SSL_CLIENT_S_DN_ST": "000e08abcdef"], "certificate not verified"),
        (["SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_S_DN_OU": "cisco.com", "SSL_CLIENT_S_DN_L": "ciscogeneric",
          "SSL_CLIENT_S_DN_ST": "ciscogeneric"], "generic certificate"),
        (["SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_S_DN_OU": "CP-8841-3PCC", "SSL_CLIENT_S_DN_L": "1"], "no MAC in certificate"),
        (["SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_S_DN_ST": "00:0e:08:ab:cd"], "malformed MAC in certificate"),
        (["SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_S_DN_CN": "CP-8861-SEP2C3124C9F8"], "malformed MAC in certificate"),
    ]

    @Test(arguments: refusals)
    func noIdentityIsA403(_ environment: [String: String], _ reason: String) {
        do {
            _ = try ClientIdentity.from(environment: environment)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.refusal.status == 403)
            #expect(error.refusal.reason == reason)
        }
    }
}
