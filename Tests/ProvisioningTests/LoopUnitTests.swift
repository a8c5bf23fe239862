import Foundation
@testable import Provisioning
@testable import ProvisioningAdmin
import Testing

@Suite("closing the loop: digest, resync interval, macros, report decoding")
struct LoopUnitTests {
    @Test("digest answer: RFC 2617 §3.5's own example (Mufasa, qop=auth)")
    func rfc2617() throws {
        let challenge = try #require(DigestChallenge(header: """
            Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"
            """))
        #expect(challenge.isSupported)
        let answer = challenge.authorization(method: "GET", uri: "/dir/index.html", username: "Mufasa",
                                             password: "Circle Of Life", cnonce: "0a4f113b")
        #expect(answer.contains("response=\"6629fae49393a05397450978507c4ef1\""))
        #expect(answer.contains("nc=00000001") && answer.contains("qop=auth") && answer.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""))
        #expect(DigestChallenge(header: "Basic realm=\"x\"") == nil)
        #expect(DigestChallenge(header: "Digest realm=\"x\", nonce=\"n\", algorithm=SHA-256")?.isSupported == false)
    }

    @Test("the resync interval the stale limit is three times of")
    func resyncInterval() {
        func interval(_ values: [String: String]) -> Int? {
            var parameters: [String: ResolvedParameter] = [:]
            for (name, value) in values {
                parameters[name] = ResolvedParameter(name: name, value: value, access: nil, scope: .all, template: value)
            }
            return DeviceLoop.resyncInterval(parameters)
        }
        #expect(interval([:]) == 3600)
        #expect(interval(["Resync_Periodic": "600"]) == 600)
        #expect(interval(["Resync_Periodic": "600,1200,300"]) == 1200)
        #expect(interval(["Resync_Periodic": "2400+30"]) == 2430)
        #expect(interval(["Resync_Periodic": "0"]) == nil)
        #expect(interval(["Resync_Periodic": "600", "Resync_At__HHmm_": "0230"]) == 86_400)
        #expect(interval(["Resync_Periodic": "600", "Resync_At__HHmm_": ""]) == 600)
    }

    @Test("phone macros expand for the device; drift skips what matches after expansion and masked secrets")
    func macrosAndDrift() {
        let device = Device(mac: MACAddress("000e08abcdef")!, serial: "88012BA01234", model: "CP-8841-3PCC")
        #expect(DeviceLoop.expandMacros("https://p/$MA.xml $MAU $(MAC) $SN $PN", device: device)
            == "https://p/000e08abcdef.xml 000E08ABCDEF 00:0e:08:ab:cd:ef 88012BA01234 CP-8841")
        func parameter(_ name: String, _ value: String) -> ResolvedParameter {
            ResolvedParameter(name: name, value: value, access: nil, scope: .all, template: value)
        }
        let expected = ["Profile_Rule": parameter("Profile_Rule", "https://p/$MA.xml"), "Password_1_": parameter("Password_1_", "pw"),
                        "Display_Name_1_": parameter("Display_Name_1_", "Desk")]
        let drift = Drift.compare(expected: expected, reported: [("Profile_Rule", "https://p/000e08abcdef.xml"),
                                                                 ("Password_1_", "********"), ("Display_Name_1_", " Desk ")],
                                  device: device)
        #expect(drift.isEmpty)
        let differs = Drift.compare(expected: expected, reported: [("Password_1_", "other")], device: device)
        #expect(differs.map(\.name) == ["Display_Name_1_", "Password_1_", "Profile_Rule"])
        #expect(differs.map(\.state) == ["not reported", "differs", "not reported"])
    }

    @Test("a report decodes from openssl enc (either digest) and gzip; anything else is refused")
    func reportDecoding() throws {
        let xml = Array("<flat-profile><A>1</A></flat-profile>\n".utf8)
        let device = Device(mac: MACAddress("000e08abcdef")!, encryption: .aes256cbc(key: "k", digest: .sha256))
        let gz = try Gzip.compress(xml)
        for digest in KeyDerivationDigest.allCases {
            let body = try OpenSSLEnc.encrypt(gz, passphrase: "k", digest: digest)
            let (encoding, plain) = try ProfileService.decodeReport(body, device: device)
            #expect(encoding == "cfg+gz" && plain == xml)
        }
        #expect(try ProfileService.decodeReport(xml, device: device).0 == "xml")
        #expect(throws: ReportError.self) { try ProfileService.decodeReport(Array("garbage".utf8), device: device) }
        #expect(throws: ReportError.self) {
            try ProfileService.decodeReport(try OpenSSLEnc.encrypt(xml, passphrase: "other", digest: .sha256), device: device)
        }
        #expect(throws: ReportError.self) {
            try ProfileService.decodeReport(try OpenSSLEnc.encrypt(xml, passphrase: "k", digest: .md5), device: Device(mac: device.mac))
        }
    }
}
