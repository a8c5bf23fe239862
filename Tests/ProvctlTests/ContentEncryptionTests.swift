import Foundation
import Testing

/// `provctl device add|edit --encrypt aes128gcm --key IKM`, and what the device's profiles carry. The IKM is the
/// one of RFC 8188 §3.1; the `.cfg` bodies are decrypted by PyPI's `http_ece` (installed with pip if missing).
@Suite("provctl and RFC 8188 aes128gcm")
struct ContentEncryptionTests {
    static let ikm = "yqdlZ-tYemfogSmv7Ws5PQ"
    static let mac = "000e08abcdef"

    func ensureHTTPECE() throws {
        if try run("python3", ["-c", "import http_ece"]).status == 0 { return }
        let installed = try run("python3", ["-m", "pip", "install", "--quiet", "http_ece"])
        guard installed.status == 0 else { throw TestFailure("pip install http_ece: \(installed)") }
    }

    /// `http_ece.decrypt` of `body` with the base64url IKM; the key id and record size are read from the header.
    func httpECEDecrypt(_ body: Data, ikm: String, box: Sandbox) throws -> ProcessOutcome {
        try ensureHTTPECE()
        let file = box.path("body-\(UUID().uuidString)")
        try body.write(to: URL(fileURLWithPath: file))
        return try run("python3", ["-c", """
            import base64, http_ece, sys
            data = open(sys.argv[1], 'rb').read()
            print(http_ece.decrypt(data, key=base64.urlsafe_b64decode(sys.argv[2] + '=='), version='aes128gcm')
                  .hex(), data[21:21 + data[20]].decode(), int.from_bytes(data[16:20], 'big'))
            """, file, ikm])
    }

    @Test("add: the IKM, key id and record size are stored; show masks the IKM; history never holds it")
    func add() throws {
        let box = try Sandbox()
        try box.ok("device", "add", Self.mac, "--gzip", "--encrypt", "aes128gcm", "--key", Self.ikm, "--key-id", "prov1",
                   "--record-size", "1024")
        #expect(try box.sql("SELECT encryption || '|' || encryption_key || '|' || ece_key_id || '|' || ece_record_size FROM devices")
                == "aes128gcm|\(Self.ikm)|prov1|1024")
        let shown = try box.ok("device", "show", Self.mac).text
        #expect(shown.contains("aes128gcm") && shown.contains("1024") && shown.contains("prov1"))
        #expect(!shown.contains(Self.ikm))
        let json = try #require(try box.ok("device", "show", Self.mac, "--json").json() as? [String: Any])
        #expect(json["key"] as? String == "***")
        #expect(json["record_size"] as? Int == 1024)
        let secret = try #require(try box.ok("device", "show", Self.mac, "--json", "--show-secrets").json() as? [String: Any])
        #expect(secret["key"] as? String == Self.ikm)
        #expect(!(try box.dump().split(separator: "\n").filter { $0.contains("INSERT INTO audit") }.joined().contains(Self.ikm)))
    }

    @Test("refusals name the option and the rule; nothing is written", arguments: [
        ["--encrypt", "aes128gcm"],                                              // no key
        ["--encrypt", "aes128gcm", "--key", "yqdlZ+tYemfogSmv7Ws5PQ"],           // not base64url
        ["--encrypt", "aes128gcm", "--key", "c2hvcnQ"],                          // 5 octets
        ["--encrypt", "aes128gcm", "--key", ikm, "--kdf", "md5"],                // kdf is aes-256-cbc's
        ["--encrypt", "aes128gcm", "--key", ikm, "--record-size", "17"],         // below RFC 8188's 18
        ["--encrypt", "aes-256-cbc", "--key", "k", "--key-id", "x"],             // key id is aes128gcm's
        ["--encrypt", "chacha", "--key", ikm],
    ])
    func refusals(_ options: [String]) throws {
        let box = try Sandbox()
        let outcome = try box.provctl(arguments: ["device", "add", Self.mac] + options)
        #expect(outcome.status == 64, "\(outcome)")
        #expect(outcome.stderr.contains("--"), "names the option: \(outcome.stderr)")
        #expect(try box.sql("SELECT count(*) FROM devices") == "0")
    }

    @Test("edit: switch ciphers, change the record size alone, read the IKM from stdin")
    func edit() throws {
        let box = try Sandbox()
        try box.ok("device", "add", Self.mac, "--encrypt", "aes-256-cbc", "--key", "phrase")
        #expect(try box.provctl("device", "edit", Self.mac, "--encrypt", "aes128gcm").status == 64, "a new cipher needs its key")
        #expect(try box.provctl("device", "edit", Self.mac, "--record-size", "100").status == 64, "not an aes128gcm device")
        try box.ok("device", "edit", Self.mac, "--encrypt", "aes128gcm", "--key-stdin", input: Data("\(Self.ikm)\n".utf8))
        #expect(try box.sql("SELECT encryption || '|' || encryption_key || '|' || ece_record_size FROM devices")
                == "aes128gcm|\(Self.ikm)|4096")
        try box.ok("device", "edit", Self.mac, "--record-size", "300", "--key-id", "k2")
        #expect(try box.sql("SELECT encryption_key || '|' || ece_key_id || '|' || ece_record_size FROM devices")
                == "\(Self.ikm)|k2|300")
        try box.ok("device", "edit", Self.mac, "--encrypt", "none")
        #expect(try box.sql("SELECT encryption || '|' || ifnull(encryption_key, 'NULL') FROM devices") == "none|NULL")
    }

    @Test("the profile carries IKM_HTTP_Encrypt_Content (ua na); .cfg is aes128gcm that http_ece decrypts, gzip inside")
    func render() throws {
        let box = try Sandbox()
        try box.ok("device", "add", Self.mac, "--model", "CP-8841-3PCC", "--gzip", "--encrypt", "aes128gcm", "--key", Self.ikm,
                   "--key-id", "prov1", "--record-size", "200")
        try box.ok("set", "default", "Resync_Periodic=3600", "Station_Name=Phone {{mac}}")
        let xml = try box.ok("render", Self.mac)
        #expect(xml.text.contains("<IKM_HTTP_Encrypt_Content ua=\"na\">\(Self.ikm)</IKM_HTTP_Encrypt_Content>"))
        #expect(try run("xmllint", ["--noout", try box.write("p.xml", xml.text)]).status == 0)
        let cfg = try box.ok("render", Self.mac, "--form", "cfg")
        let decrypted = try httpECEDecrypt(cfg.stdout, ikm: Self.ikm, box: box)
        #expect(decrypted.status == 0, "\(decrypted)")
        let fields = decrypted.text.split(separator: " ")
        #expect(fields.count == 3)
        #expect(fields.dropFirst().joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines) == "prov1 200")
        let gz = Data(hex: String(fields.first ?? ""))
        #expect(gz.prefix(2) == Data([0x1f, 0x8b]), "gzip inside")
        #expect(try run("gzip", ["-dc"], input: gz).stdout == xml.stdout)
        #expect(try box.ok("render", Self.mac, "--form", "cfg", "--plain").stdout == xml.stdout)
        // Every device's .cfg in its own encryption: render --all --form cfg.
        try box.ok("device", "add", "000e08abcd01", "--encrypt", "aes-256-cbc", "--key", "k")
        let all = try box.ok("render", "--all", "--out", box.path("cfg"), "--form", "cfg")
        #expect(all.text.contains("rendered 2 profile(s)"))
        let written = try Data(contentsOf: URL(fileURLWithPath: box.path("cfg/\(Self.mac).cfg")))
        #expect(try httpECEDecrypt(written, ikm: Self.ikm, box: box).status == 0)
        let cbc = try Data(contentsOf: URL(fileURLWithPath: box.path("cfg/000e08abcd01.cfg")))
        #expect(String(decoding: cbc.prefix(8), as: UTF8.self) == "Salted__")
    }

    @Test("set refuses IKM_HTTP_Encrypt_Content at every scope: the device row is its one source")
    func setRefusesTheDerivedName() throws {
        let box = try Sandbox()
        try box.ok("device", "add", Self.mac, "--encrypt", "aes128gcm", "--key", Self.ikm)
        for scope in ["default", "model:CP-8841-3PCC", "group:g", "device:\(Self.mac)"] {
            let outcome = try box.provctl("set", scope, "IKM_HTTP_Encrypt_Content=AAAAAAAAAAAAAAAAAAAAAA")
            #expect(outcome.status == 65, "\(outcome)")
            #expect(outcome.stderr.contains("device edit"))
            #expect(!outcome.stderr.contains("AAAAAAAAAAAAAAAAAAAAAA"), "the refused value is masked")
        }
        #expect(try box.sql("SELECT count(*) FROM settings") == "0")
    }
}

extension Data {
    /// Bytes from lower-case hex.
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), index != hex.endIndex {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        self.init(bytes)
    }
}
