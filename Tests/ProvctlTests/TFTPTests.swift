import Foundation
import Testing

/// A TFTP site: `provctl render --all --form cfg` exports one encrypted file per device into the folder a real
/// tftpd-hpa serves; phones fetch them with TFTP (tftp-hpa's client here) and decrypt them with their key
/// (openssl enc -d here). Re-exporting writes only the files whose profile changed, so the TFTP folder does
/// not churn on every run. The server listens on 127.0.0.1 only, with its own pid file, and is stopped by pid.
@Suite("TFTP sites: provctl export served by tftpd-hpa", .serialized)
struct TFTPTests {
    /// Installs tftpd-hpa and tftp-hpa when missing (Debian).
    func ensureTFTP() throws {
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/in.tftpd") && FileManager.default.isExecutableFile(atPath: "/usr/bin/tftp") { return }
        _ = try run("apt-get", ["update", "-qq"], timeout: 300)
        let installed = try run("apt-get", ["install", "-y", "-qq", "tftpd-hpa", "tftp-hpa"],
                                environment: ["DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: 300)
        guard installed.status == 0 else { throw TestFailure("apt-get install tftpd-hpa tftp-hpa: \(installed)") }
    }

    /// A free UDP port on 127.0.0.1.
    func freeUDPPort() throws -> Int {
        let found = try run("python3", ["-c", "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
        return try #require(Int(found.text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// `tftp -m binary 127.0.0.1 PORT -c get NAME LOCAL`; the file's bytes, or nil when the get failed.
    func tftpGet(_ name: String, port: Int, into folder: String) throws -> Data? {
        let local = folder + "/got-" + name
        try? FileManager.default.removeItem(atPath: local)
        let got = try run("/usr/bin/tftp", ["-m", "binary", "127.0.0.1", String(port), "-c", "get", name, local], timeout: 30)
        guard got.status == 0, !got.text.contains("Error"), !got.stderr.contains("Error") else { return nil }
        return FileManager.default.contents(atPath: local)
    }

    func modified(_ path: String) throws -> Date {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
    }

    @Test("every device's .cfg, fetched by TFTP, decrypts with openssl enc -d; re-export writes only what changed")
    func exportFetchDecrypt() throws {
        try ensureTFTP()
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcd01", "--model", "CP-6841-3PCC", "--gzip", "--encrypt", "aes-256-cbc",
                   "--key", "site key md5", "--kdf", "md5")
        try box.ok("device", "add", "000e08abcd02", "--model", "CP-8841-3PCC", "--encrypt", "aes-256-cbc",
                   "--key", "site key sha256", "--kdf", "sha256")
        try box.ok("device", "add", "000e08abcd03", "--encrypt", "aes128gcm", "--key", "yqdlZ-tYemfogSmv7Ws5PQ")
        try box.ok("device", "add", "000e08abcd04")   // no key: no .cfg for it
        try box.ok("set", "default", "Resync_Periodic=3600", "Station_Name=Phone {{mac}}",
                   "Profile_Rule=tftp://127.0.0.1/$MA.cfg")
        let site = box.path("tftpboot")
        let first = try box.ok("render", "--all", "--form", "cfg", "--out", site)
        #expect(first.text.contains("rendered 3 profile(s)") && first.text.contains("1 without encryption skipped"), "\(first.text)")

        // tftpd-hpa on 127.0.0.1, its own pid file; stopped by that pid whatever happens.
        let port = try freeUDPPort()
        let pidFile = box.path("tftpd.pid")
        let started = try run("/usr/sbin/in.tftpd", ["--listen", "--address", "127.0.0.1:\(port)", "--user", "root",
                                                     // --permissive: the files are 0640 (render --all --file-group), and
                                                     // tftpd-hpa serves only world-readable files without it.
                                                     "--pidfile", pidFile, "--secure", "--permissive", site])
        #expect(started.status == 0, "\(started)")
        defer {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGTERM)
            }
        }
        var waited = 0
        while !FileManager.default.fileExists(atPath: pidFile) && waited < 50 { usleep(100_000); waited += 1 }

        let fetched = box.path("fetched")
        try FileManager.default.createDirectory(atPath: fetched, withIntermediateDirectories: true)
        for (mac, digest, key) in [("000e08abcd01", "md5", "site key md5"), ("000e08abcd02", "sha256", "site key sha256")] {
            let bytes = try #require(try tftpGet("\(mac).cfg", port: port, into: fetched), "tftp get \(mac).cfg")
            #expect(bytes == FileManager.default.contents(atPath: site + "/\(mac).cfg"))
            let decrypted = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", digest, "-k", key], input: bytes)
            #expect(decrypted.status == 0, "openssl enc -d: \(decrypted.stderr)")
            var plain = decrypted.stdout
            if plain.prefix(2) == Data([0x1f, 0x8b]) { plain = try run("gzip", ["-dc"], input: plain).stdout }
            #expect(plain == (try box.ok("render", mac).stdout))
            #expect(String(decoding: plain, as: UTF8.self).contains("<Station_Name>Phone \(mac)</Station_Name>"))
        }
        let gcm = try #require(try tftpGet("000e08abcd03.cfg", port: port, into: fetched))
        #expect(gcm == FileManager.default.contents(atPath: site + "/000e08abcd03.cfg"), "the RFC 8188 file travels as is")
        #expect(try tftpGet("000e08abcd04.cfg", port: port, into: fetched) == nil, "no file for a device without a key")

        // Re-export with nothing changed: no file is rewritten (same bytes, same time), though a fresh
        // encryption would differ in every byte (new salt).
        let before = try (1...3).map { try modified(site + "/000e08abcd0\($0).cfg") }
        let contents = (1...3).map { FileManager.default.contents(atPath: site + "/000e08abcd0\($0).cfg") }
        usleep(1_100_000)
        let again = try box.ok("render", "--all", "--form", "cfg", "--out", site)
        #expect(again.text.contains("rendered 0 profile(s)") && again.text.contains("3 unchanged"), "\(again.text)")
        #expect(try (1...3).map { try modified(site + "/000e08abcd0\($0).cfg") } == before)
        #expect((1...3).map { FileManager.default.contents(atPath: site + "/000e08abcd0\($0).cfg") } == contents)

        // One device's setting changes: only its file is written, and TFTP serves the new one.
        try box.ok("set", "device:000e08abcd02", "Station_Name=Front Desk")
        let changed = try box.ok("render", "--all", "--form", "cfg", "--out", site)
        #expect(changed.text.contains("rendered 1 profile(s)") && changed.text.contains("2 unchanged"), "\(changed.text)")
        #expect(try modified(site + "/000e08abcd01.cfg") == before[0])
        #expect(try modified(site + "/000e08abcd02.cfg") != before[1])
        let refreshed = try #require(try tftpGet("000e08abcd02.cfg", port: port, into: fetched))
        let decrypted = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", "sha256", "-k", "site key sha256"], input: refreshed)
        #expect(decrypted.text.contains("<Station_Name>Front Desk</Station_Name>"))
    }
}
