import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing

/// Partitioned profiles: `$MA-<name>.xml` asks for a partition; each renders, encodes and logs on its own.
@Suite("Partitioned profiles")
struct PartitionTests {
    let cgi = builtProduct("profile-cgi")

    func request(_ path: String) throws(RequestError) -> ProfileRequest {
        try ProfileRequest(environment: ["REQUEST_METHOD": "GET", "PATH_INFO": path])
    }

    @Test func fileNamesNameThePartitionAfterTheMAC() throws {
        for (path, mac, partition) in [
            ("/000e08abcdef-lines.xml", "000e08abcdef", "lines"),
            ("/000E08ABCDEF-Lines.cfg", "000e08abcdef", "lines"),         // $MAU: the name is lower-cased
            ("/00:0e:08:ab:cd:ef-dir_2.gz", "000e08abcdef", "dir_2"),     // $MAC
            ("/00-0e-08-ab-cd-ef-lines.xml.gz", "000e08abcdef", "lines"),
            ("/spa000e08abcdef-lines.cfg", "000e08abcdef", "lines"),
            ("/000e08abcdef.xml", "000e08abcdef", ""),
            ("/cisco-000e08abcdef.xml", "000e08abcdef", ""),              // a prefix, not a partition
            ("/00-0e-08-ab-cd-ef.xml", "000e08abcdef", ""),
        ] {
            let asked = try request(path)
            #expect(asked.namedMAC?.hex == mac, "\(path)")
            #expect(asked.partition == partition, "\(path)")
        }
        // No MAC before the dash: the factory names stay the caller's main profile.
        for path in ["/CP-8841-3PCC.xml", "/SPA-lines.xml", "/000e08abcdef-.xml", "/000e08abcdef-a.b.xml"] {
            #expect(try request(path).partition == "", "\(path)")
        }
        #expect(try request("/000e08abcdef-" + String(repeating: "x", count: 33) + ".xml").partition == "")
    }

    func database(in directory: TemporaryDirectory, encryption: Encryption = .none, gzip: Bool = false) throws -> String {
        try makeDatabase(in: directory, devices: [Device(mac: phoneMAC, gzip: gzip, encryption: encryption)], settings: [
            Setting(scope: .all, name: "Resync_Periodic", value: "3600"),
            Setting(scope: .all, name: "Profile_Rule_B", value: "https://prov.example.com/cgi-bin/profile/$MA-lines.xml"),
            Setting(scope: .all, name: "Proxy_1_", value: "sip.example.com", partition: "lines"),
            Setting(scope: .device(phoneMAC), name: "User_ID_1_", value: "{{ext}}", access: .na, partition: "lines"),
            Setting(scope: .device(phoneMAC), name: "Display_Name_1_", value: "Main only"),
        ], variables: [Variable(scope: .device(phoneMAC), name: "ext", value: "1001")])
    }

    func answer(_ environment: [String: String]) throws -> (ParsedCGI, String) {
        let result = try run(cgi, environment: environment)
        #expect(result.status == 0)
        return (try ParsedCGI(Array(result.stdout)), result.stderr)
    }

    @Test func eachPartitionRendersOnItsOwn() throws {
        let directory = try TemporaryDirectory()
        let db = try database(in: directory)
        let (main, mainLog) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef.xml"))
        #expect(String(decoding: main.body, as: UTF8.self) == """
            <flat-profile>
              <Display_Name_1_>Main only</Display_Name_1_>
              <Profile_Rule_B>https://prov.example.com/cgi-bin/profile/$MA-lines.xml</Profile_Rule_B>
              <Resync_Periodic>3600</Resync_Periodic>
            </flat-profile>

            """)
        #expect(!mainLog.contains("partition="))
        let (lines, linesLog) = try answer(phoneEnvironment(database: db, path: "/000E08ABCDEF-lines.xml"))
        #expect(lines.status == 200)
        #expect(String(decoding: lines.body, as: UTF8.self) == """
            <flat-profile>
              <Proxy_1_>sip.example.com</Proxy_1_>
              <User_ID_1_ ua="na">1001</User_ID_1_>
            </flat-profile>

            """, "variables are shared, settings are the partition's own")
        #expect(linesLog.contains("partition=lines") && linesLog.contains("status=200"))
    }

    @Test func unknownPartitionIs404AndAnotherMACIs403() throws {
        let directory = try TemporaryDirectory()
        let db = try database(in: directory)
        let (missing, log) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef-nope.xml"))
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self) == "unknown partition\n")
        #expect(log.contains("partition=nope"))
        let (other, _) = try answer(phoneEnvironment(database: db, path: "/000e08000001-lines.xml"))
        #expect(other.status == 403)
    }

    @Test func eachPartitionIsEncodedOnItsOwn() throws {
        let directory = try TemporaryDirectory()
        let db = try database(in: directory, encryption: .aes256cbc(key: "k", digest: .sha256), gzip: true)
        let (cfg, _) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef-lines.cfg"))
        #expect(cfg.status == 200)
        let decrypted = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", "sha256", "-k", "k",
                                            "-in", try write(cfg.body, to: directory.path("l.cfg"))])
        let plain = try run("gzip", ["-dc"], input: decrypted.stdout)
        #expect(plain.text.contains("<User_ID_1_ ua=\"na\">1001</User_ID_1_>") && !plain.text.contains("Main only"))
        let (gz, _) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef-lines.gz"))
        #expect(try Gzip.decompress(gz.body) == Array(plain.stdout))
    }

    @Test func theIKMGoesToTheMainProfileOnly() throws {
        let directory = try TemporaryDirectory()
        let db = try database(in: directory, encryption: .aes128gcm(ContentEncryptionKey(ikm: "yqdlZ-tYemfogSmv7Ws5PQ")))
        let (main, _) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef.xml"))
        #expect(String(decoding: main.body, as: UTF8.self).contains("IKM_HTTP_Encrypt_Content"))
        let (lines, _) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef-lines.xml"))
        #expect(!String(decoding: lines.body, as: UTF8.self).contains("IKM_HTTP_Encrypt_Content"))
    }
}
