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
            #expect(error.status == 403)
            #expect(error.reason == "unreadable certificate")
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
            #expect(error.status == 403)
            #expect(error.reason == reason)
        }
    }
}
