// RFC 8188 aes128gcm through the real Apache: the header survives Apache (no module recodes or drops it), the
// body is what PyPI's http_ece decrypts with the device's IKM, and the phone's .xml carries the IKM.
import Foundation
import Testing

extension EndToEndTests {
    @Test(".cfg of an aes128gcm device: Content-Encoding aes128gcm, http_ece decrypts it, gzip inside when set",
          arguments: [false, true])
    func contentEncryption(gzipFirst: Bool) throws {
        let ikm = base64URL(randomBytes(16))
        let (phone, user) = try registeredPhone(options: ["--encrypt", "aes128gcm", "--key=" + ikm, "--key-id", "e2e",
                                                          "--record-size", "512"] + (gzipFirst ? ["--gzip"] : []))
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).cfg", as: phone.credentials, headers: ["Accept-Encoding: gzip"])
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.header("Content-Encoding") == "aes128gcm")
        #expect(answer.header("Content-Length") == String(answer.body.count))
        if try run("python3", ["-c", "import http_ece"]).status != 0 {
            _ = try runChecked("python3", ["-m", "pip", "install", "--quiet", "http_ece"])
        }
        let decrypted = try runOnFile(answer.body, "python3", ["-c", """
            import base64, http_ece, sys
            data = open(sys.argv[1], 'rb').read()
            sys.stdout.buffer.write(http_ece.decrypt(data, key=base64.urlsafe_b64decode(sys.argv[2] + '=='), version='aes128gcm'))
            """, "{}", ikm])
        #expect(decrypted.status == 0, "http_ece: \(decrypted.error)")
        let xml = gzipFirst ? try #require(try gunzip(decrypted.output), "not gzip inside") : decrypted.output
        #expect(try isWellFormedXML(xml))
        #expect(try xpath(xml, "/flat-profile/User_ID_1_") == user)
        #expect(try xpath(xml, "/flat-profile/IKM_HTTP_Encrypt_Content") == ikm)
        // The secure .xml carries the same IKM (how the phone learns it), and nothing logs it.
        let plain = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
        #expect(try xpath(plain.body, "/flat-profile/IKM_HTTP_Encrypt_Content") == ikm)
        #expect(!errorLogLines(containing: "mac=\(phone.mac)").contains { $0.contains(ikm) })
    }
}

/// `count` random bytes (the IKM of a test device).
func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

/// Unpadded base64url.
func base64URL(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}
