import Foundation
@testable import Provisioning
import Testing

/// RFC 8188 `aes128gcm`, checked against material nobody here wrote: the RFC's own examples (§3.1, §3.2; the
/// intermediate PRK, CEK and nonce of §3.1 as the RFC prints them) and PyPI's `http_ece` as a peer, both ways.
@Suite("RFC 8188 aes128gcm")
struct AES128GCMTests {
    // RFC 8188 §3.1 "Encryption of a Response".
    static let example1IKM = "yqdlZ-tYemfogSmv7Ws5PQ"
    static let example1Salt = "I1BsxtFttlv3u_Oo94xnmw"
    static let example1Body = "I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg"
    // RFC 8188 §3.2 "Encryption with Multiple Records": rs 25, keyid "a1", with padding.
    static let example2IKM = "BO3ZVPxUlnLORbVGMpbT1Q"
    static let example2Body = "uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA"

    let xml = Array(("<flat-profile>\n" + (0..<300).map { "  <GPP_A>line \($0) é</GPP_A>\n" }.joined() + "</flat-profile>\n").utf8)

    func decode(_ text: String) throws -> [UInt8] {
        try #require(Base64URL.decode(text))
    }

    @Test func example31IsReproducedByteForByte() throws {
        let body = try AES128GCM.encrypt(Array("I am the walrus".utf8), ikm: decode(Self.example1IKM), keyID: [],
                                         recordSize: 4096, salt: decode(Self.example1Salt))
        #expect(Base64URL.encode(body) == Self.example1Body)
    }

    @Test func example31IntermediateValues() throws {
        // The PRK, CEK and NONCE the RFC prints for §3.1.
        let prk = HMACSHA256.mac(key: try decode(Self.example1Salt), try decode(Self.example1IKM))
        #expect(Base64URL.encode(prk) == "zyeH5phsIsgUyd4oiSEIy35x-gIi4aM7y0hCF8mwn9g")
        let (key, nonce) = AES128GCM.derive(ikm: try decode(Self.example1IKM), salt: try decode(Self.example1Salt))
        #expect(Base64URL.encode(key) == "_wniytB-ofscZDh4tbSjHw")
        #expect(Base64URL.encode(nonce) == "Bcs8gkIRKLI8GeI8")
    }

    @Test func bothExamplesDecrypt() throws {
        #expect(try AES128GCM.decrypt(decode(Self.example1Body), ikm: decode(Self.example1IKM)) == Array("I am the walrus".utf8))
        let body2 = try decode(Self.example2Body)
        let header = try AES128GCM.header(body2)
        #expect(header.recordSize == 25)
        #expect(header.keyID == Array("a1".utf8))
        #expect(try AES128GCM.decrypt(body2, ikm: decode(Self.example2IKM)) == Array("I am the walrus".utf8))
    }

    @Test func wrongKeyOrAlteredBodyIsRefused() throws {
        let body = try decode(Self.example1Body)
        #expect(throws: CryptoError.self) { try AES128GCM.decrypt(body, ikm: decode(Self.example2IKM)) }
        var altered = body
        altered[30] ^= 1
        #expect(throws: CryptoError.self) { try AES128GCM.decrypt(altered, ikm: decode(Self.example1IKM)) }
        #expect(throws: CryptoError.self) { try AES128GCM.decrypt(Array(body.dropLast(3)), ikm: decode(Self.example1IKM)) }
    }

    /// Record boundaries: empty content, exactly one full record, one byte more, many records.
    @Test(arguments: [0, 1, 4079, 4080, 4081, 20_000])
    func roundTripsAcrossRecordBoundaries(_ length: Int) throws {
        let plain = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let ikm = try OpenSSLEnc.randomBytes(16)
        let body = try AES128GCM.encrypt(plain, ikm: ikm, keyID: Array("prov1".utf8), recordSize: 4096)
        let header = try AES128GCM.header(body)
        #expect(header.keyID == Array("prov1".utf8))
        let records = max(1, (length + 4078) / 4079)
        #expect(body.count == 21 + 5 + length + 17 * records)
        #expect(try AES128GCM.decrypt(body, ikm: ikm) == plain)
    }

    @Test func recordSizeAndKeyIDLimits() throws {
        let ikm = try OpenSSLEnc.randomBytes(16)
        #expect(throws: CryptoError.self) { try AES128GCM.encrypt([1], ikm: ikm, recordSize: 17) }
        #expect(throws: CryptoError.self) { try AES128GCM.encrypt([1], ikm: ikm, keyID: [UInt8](repeating: 65, count: 256)) }
        let smallest = try AES128GCM.encrypt(Array("abc".utf8), ikm: ikm, recordSize: 18)
        #expect(try AES128GCM.decrypt(smallest, ikm: ikm) == Array("abc".utf8))
    }

    @Test func base64URL() {
        #expect(Base64URL.decode("yqdlZ-tYemfogSmv7Ws5PQ")?.count == 16)
        #expect(Base64URL.decode("yqdlZ-tYemfogSmv7Ws5PQ==")?.count == 16)
        #expect(Base64URL.decode("yqdlZ+tYemfogSmv7Ws5PQ") == nil)
        #expect(Base64URL.decode("abcde") == nil)
        for count in 0..<20 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 77 + 5) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    @Test func httpECEDecryptsOurBodies() throws {
        try HTTPECE.ensureInstalled()
        let directory = try TemporaryDirectory()
        for (recordSize, keyID) in [(4096, ""), (25, "a1"), (100, "provisioner-key-7")] {
            let ikm = try OpenSSLEnc.randomBytes(16)
            let body = try AES128GCM.encrypt(xml, ikm: ikm, keyID: Array(keyID.utf8), recordSize: recordSize)
            let decrypted = try HTTPECE.decrypt(body, ikm: ikm, in: directory)
            #expect(decrypted == xml, "rs \(recordSize) keyid \(keyID)")
        }
    }

    @Test func weDecryptHTTPECEBodies() throws {
        try HTTPECE.ensureInstalled()
        let directory = try TemporaryDirectory()
        let ikm = try OpenSSLEnc.randomBytes(16)
        let input = try write(xml, to: directory.path("plain"))
        let script = """
            import base64, http_ece, sys
            data = open(sys.argv[1], 'rb').read()
            key = base64.urlsafe_b64decode(sys.argv[2] + '==')
            sys.stdout.buffer.write(http_ece.encrypt(data, key=key, version='aes128gcm', rs=int(sys.argv[3]), keyid='k9'))
            """
        for recordSize in [4096, 300, 18] {
            let made = try run("python3", ["-c", script, input, Base64URL.encode(ikm), String(recordSize)])
            #expect(made.status == 0, "\(made.stderr)")
            #expect(try AES128GCM.decrypt(Array(made.stdout), ikm: ikm) == xml)
        }
    }
}

/// PyPI's `http_ece`, installed with pip when missing (the tests' peer for RFC 8188).
enum HTTPECE {
    static func ensureInstalled() throws {
        if try run("python3", ["-c", "import http_ece"]).status == 0 { return }
        let installed = try run("python3", ["-m", "pip", "install", "--quiet", "http_ece"])
        guard installed.status == 0 else { throw TestFailure("pip install http_ece failed: \(installed.stderr)") }
    }

    /// `http_ece.decrypt(body, key=ikm, version='aes128gcm')`: key id and record size come from the header.
    static func decrypt(_ body: [UInt8], ikm: [UInt8], in directory: TemporaryDirectory) throws -> [UInt8] {
        let path = try write(body, to: directory.path("body-\(UUID().uuidString)"))
        let script = """
            import base64, http_ece, sys
            data = open(sys.argv[1], 'rb').read()
            key = base64.urlsafe_b64decode(sys.argv[2] + '==')
            sys.stdout.buffer.write(http_ece.decrypt(data, key=key, version='aes128gcm'))
            """
        let result = try run("python3", ["-c", script, path, Base64URL.encode(ikm)])
        guard result.status == 0 else { throw TestFailure("http_ece refused the body: \(result.stderr)") }
        return Array(result.stdout)
    }
}

/// profile-cgi as a process: an aes128gcm device's `.cfg` carries `Content-Encoding: aes128gcm`, its body is the
/// RFC's format (http_ece decrypts it), and its `.xml` carries the IKM for the phone to learn.
@Suite("profile-cgi and aes128gcm")
struct AES128GCMProcessTests {
    let cgi = builtProduct("profile-cgi")
    static let ikm = "yqdlZ-tYemfogSmv7Ws5PQ"

    func answer(_ environment: [String: String]) throws -> (ParsedCGI, String) {
        let result = try run(cgi, environment: environment)
        #expect(result.status == 0)
        return (try ParsedCGI(Array(result.stdout)), result.stderr)
    }

    @Test(arguments: [false, true])
    func cfgIsRFC8188(_ gzip: Bool) throws {
        try HTTPECE.ensureInstalled()
        let directory = try TemporaryDirectory()
        let key = ContentEncryptionKey(ikm: Self.ikm, keyID: "prov1", recordSize: 64)
        let db = try makeDatabase(in: directory, devices: [Device(mac: phoneMAC, gzip: gzip, encryption: .aes128gcm(key))],
                                  settings: [Setting(scope: .all, name: "Resync_Periodic", value: "3600"),
                                             Setting(scope: .all, name: "Station_Name", value: "a name long enough for two records")])
        let (cfg, log) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef.cfg"))
        #expect(cfg.status == 200)
        #expect(cfg.headers["Content-Encoding"] == "aes128gcm")
        #expect(cfg.headers["Content-Type"] == "application/octet-stream")
        #expect(!log.contains(Self.ikm))
        let header = try AES128GCM.header(cfg.body)
        #expect(header.recordSize == 64 && header.keyID == Array("prov1".utf8))
        var plain = try HTTPECE.decrypt(cfg.body, ikm: try #require(Base64URL.decode(Self.ikm)), in: directory)
        #expect(Gzip.isGzip(plain) == gzip)
        if gzip { plain = try Gzip.decompress(plain) }
        let expected = """
            <flat-profile>
              <IKM_HTTP_Encrypt_Content ua="na">\(Self.ikm)</IKM_HTTP_Encrypt_Content>
              <Resync_Periodic>3600</Resync_Periodic>
              <Station_Name>a name long enough for two records</Station_Name>
            </flat-profile>

            """
        #expect(String(decoding: plain, as: UTF8.self) == expected)
        let (xml, _) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef.xml"))
        #expect(xml.headers["Content-Encoding"] == nil)
        #expect(String(decoding: xml.body, as: UTF8.self) == expected)
        let (head, _) = try answer(phoneEnvironment(database: db, path: "/000e08abcdef.cfg", method: "HEAD"))
        #expect(head.headers["Content-Encoding"] == "aes128gcm" && head.body.isEmpty)
    }
}
