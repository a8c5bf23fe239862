import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing

@Suite("gzip and openssl enc")
struct EncodingTests {
    let xml = Array(("<flat-profile>\n" + (0..<200).map { "  <GPP_A>line \($0) é</GPP_A>\n" }.joined() + "</flat-profile>\n").utf8)

    @Test func gzipDecodesWithGzip() throws {
        let directory = try TemporaryDirectory()
        let compressed = try Gzip.compress(xml)
        #expect(compressed.prefix(3) == [0x1f, 0x8b, 0x08])
        #expect(compressed.count < xml.count)
        let result = try run("gzip", ["-dc", try write(compressed, to: directory.path("p.gz"))])
        #expect(result.status == 0)
        #expect(Array(result.stdout) == xml)
        #expect(try Gzip.decompress(compressed) == xml)
    }

    @Test func reusedCompressorMakesTheSameBytes() throws {
        let compressor = try GzipCompressor()
        let other = Array("<flat-profile>\n  <A>x</A>\n</flat-profile>\n".utf8)
        for input in [xml, other, xml, []] {
            #expect(try compressor.compress(input) == Gzip.compress(input))
            #expect(try Gzip.decompress(compressor.compress(input)) == input)
        }
    }

    @Test(arguments: KeyDerivationDigest.allCases)
    func encryptionDecodesWithOpenSSL(_ digest: KeyDerivationDigest) throws {
        let directory = try TemporaryDirectory()
        let key = "a phrase, not hex: 00ff"
        let encrypted = try OpenSSLEnc.encrypt(xml, passphrase: key, digest: digest)
        #expect(Array(encrypted.prefix(8)) == Array("Salted__".utf8))
        let path = try write(encrypted, to: directory.path("p.cfg"))
        let result = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", digest.rawValue, "-k", key, "-in", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Array(result.stdout) == xml)
        // The other digest must not decrypt it: the digest really is part of the format.
        let wrong = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", digest == .md5 ? "sha256" : "md5", "-k", key, "-in", path])
        #expect(wrong.status != 0 || Array(wrong.stdout) != xml)
    }

    @Test(arguments: KeyDerivationDigest.allCases)
    func sameBytesAsOpenSSLForTheSameSalt(_ digest: KeyDerivationDigest) throws {
        let directory = try TemporaryDirectory()
        let salt: [UInt8] = [1, 2, 3, 4, 0xfa, 0xfb, 0xfc, 0xfd]
        let plain = try write(xml, to: directory.path("p.xml"))
        let reference = try run("openssl", ["enc", "-e", "-aes-256-cbc", "-md", digest.rawValue, "-k", "secret",
                                            "-S", "01020304fafbfcfd", "-in", plain])
        #expect(reference.status == 0)
        // With -S, openssl 3 leaves out the `Salted__` + salt header; the rest must be the same bytes.
        let ours = try OpenSSLEnc.encrypt(xml, passphrase: "secret", digest: digest, salt: salt)
        #expect(Array(ours[0..<16]) == Array("Salted__".utf8) + salt)
        #expect(Array(ours[16...]) == Array(reference.stdout))
    }

    @Test func openSSLFilesDecryptWithOurs() throws {
        let directory = try TemporaryDirectory()
        let plain = try write(xml, to: directory.path("p.xml"))
        let made = try run("openssl", ["enc", "-e", "-aes-256-cbc", "-md", "md5", "-k", "k", "-in", plain])
        #expect(try OpenSSLEnc.decrypt(Array(made.stdout), passphrase: "k", digest: .md5) == xml)
        // A wrong key never gives the plaintext back; usually the padding check throws, but about one salt in 256
        // leaves garbage that happens to end in valid padding, so only the plaintext is ruled out.
        #expect((try? OpenSSLEnc.decrypt(Array(made.stdout), passphrase: "wrong", digest: .md5)) != xml)
    }

    @Test func saltsDiffer() throws {
        let a = try OpenSSLEnc.encrypt(xml, passphrase: "k", digest: .sha256)
        let b = try OpenSSLEnc.encrypt(xml, passphrase: "k", digest: .sha256)
        #expect(a[8..<16] != b[8..<16])
    }

    @Test func cfgIsGzipThenEncryptWhenTheDeviceGzips() throws {
        let directory = try TemporaryDirectory()
        let device = Device(mac: phoneMAC, gzip: true, encryption: .aes256cbc(key: "k", digest: .sha256))
        let body = try ProfileEncoding.encode(xml, form: .cfg, device: device)
        let decrypted = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", "sha256", "-k", "k",
                                            "-in", try write(body, to: directory.path("p.cfg"))])
        #expect(Gzip.isGzip(Array(decrypted.stdout)))
        let plain = try run("gzip", ["-dc"], input: decrypted.stdout)
        #expect(Array(plain.stdout) == xml)
    }

    @Test func cfgWithoutEncryptionIs404() {
        do {
            _ = try ProfileEncoding.encode(xml, form: .cfg, device: Device(mac: phoneMAC))
            Issue.record("expected an error")
        } catch {
            #expect(error == .noKey)
            #expect(error.description == "no encryption configured")
        }
    }
}
