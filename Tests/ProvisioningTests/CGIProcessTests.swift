import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing

/// profile-cgi run as a real process with an environment, as Apache runs it.
@Suite("profile-cgi as a process")
struct CGIProcessTests {
    let cgi = builtProduct("profile-cgi")

    func runCGI(_ environment: [String: String]) throws -> (ParsedCGI, String) {
        let result = try run(cgi, environment: environment)
        #expect(result.status == 0)
        return (try ParsedCGI(Array(result.stdout)), result.stderr)
    }

    /// The shared table of refusals (TestSupport), one case per refusal of the catalogue, answered by the CGI
    /// process: status, one-line body, the catalogue's headers, one log line.
    @Test(arguments: refusalCases)
    func refusalTable(_ refusal: RefusalCase) throws {
        if skipNote(refusal, at: .cgiProcess) != nil { return }
        let directory = try TemporaryDirectory()
        let db = try LocalCaller.database(in: directory)
        let caller = LocalCaller.of(refusal.caller)
        let held = try caller.prepare(refusal, database: db)
        let result = try run(cgi, environment: caller.environment(database: db, for: refusal), input: refusal.body.map { Data($0) })
        withExtendedLifetime(held) {}
        #expect(result.status == 0)
        let answer = try ParsedCGI(Array(result.stdout)), log = result.stderr
        #expect(answer.status == refusal.status)
        #expect(String(decoding: answer.body, as: UTF8.self) == refusal.reason + "\n")
        #expect(refusal.kind?.headerProblems(answer.headers) == [])
        #expect(log.hasPrefix("profile-cgi: status=\(refusal.status) ") && log.split(separator: "\n").count == 1)
    }

    @Test func xmlAnswerHeadersAndBody() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [Device(mac: phoneMAC, serial: phoneSerial, model: phoneModel)],
                                  settings: [Setting(scope: .all, name: "GPP_D", value: "OU={{cert.ou}}, L={{cert.l}}, S={{cert.st}}")])
        let (answer, log) = try runCGI(phoneEnvironment(database: db))
        #expect(answer.status == 200)
        #expect(answer.headers["Status"] == nil)
        #expect(answer.headers["Content-Type"] == "text/xml; charset=utf-8")
        #expect(answer.headers["Cache-Control"] == "no-store")
        #expect(answer.headers["Content-Length"] == String(answer.body.count))
        #expect(String(decoding: answer.body, as: UTF8.self).contains("<GPP_D>OU=CP-8841-3PCC, L=88012BA01234, S=000e08abcdef</GPP_D>"))
        let lines = log.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(log.contains("status=200") && log.contains("mac=000e08abcdef") && log.contains("us="))
    }

    /// FACTS §4: `<X></X>` sets the phone's value to empty, `<X/>` leaves it; a row stored before schema 9 (no
    /// intent) is served as before, `<X/>`.
    @Test func emptyAndLeaveAreServedApart() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [Device(mac: phoneMAC, serial: phoneSerial, model: phoneModel)],
                                  settings: [Setting(scope: .all, name: "GPP_A", value: "", intent: .empty),
                                             Setting(scope: .all, name: "GPP_B", value: "", intent: .keep),
                                             Setting(scope: .all, name: "Speed_Dial_2_2_", value: "", access: .rw, intent: .keep),
                                             Setting(scope: .all, name: "GPP_C", value: "x"),
                                             Setting(scope: .device(phoneMAC), name: "GPP_C", value: "", access: .na),
                                             Setting(scope: .all, name: "GPP_E", value: "")])
        let store = try ConfigurationEditor(path: db, mode: .readWrite)
        try store.database.execute("INSERT INTO settings (scope, target, part, name, value) VALUES ('default', '', '', 'GPP_L', '')")
        let (answer, _) = try runCGI(phoneEnvironment(database: db))
        let body = String(decoding: answer.body, as: UTF8.self)
        #expect(answer.status == 200)
        for element in ["<GPP_A></GPP_A>", "<GPP_B/>", "<Speed_Dial_2_2_ ua=\"rw\"/>", "<GPP_C ua=\"na\"></GPP_C>",
                        "<GPP_E></GPP_E>", "<GPP_L/>"] {
            #expect(body.contains(element), "\(element) in \(body)")
        }
    }

    @Test func fromThePEMItself() throws {
        let directory = try TemporaryDirectory()
        let pem = try makeCertificate(
            subject: "/serialNumber=PID:CP-8861 SN:FCH2133E8B9/O=Cisco Systems Inc./OU=CTG/CN=CP-8861-SEP2C3124C9F8E1", in: directory)
        let db = try makeDatabase(in: directory, devices: [Device(mac: MACAddress("2c3124c9f8e1")!, serial: "FCH2133E8B9", model: "CP-8861")],
                                  settings: [Setting(scope: .all, name: "Station_Name", value: "{{cert.cn}}")])
        let (answer, _) = try runCGI(["PROVISIONER_DB": db, "REQUEST_METHOD": "GET", "PATH_INFO": "/2C3124C9F8E1.xml",
                                      "SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": pem])
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self).contains("<Station_Name>CP-8861-SEP2C3124C9F8E1</Station_Name>"))
    }

    /// The MIC subject printed in Cisco's troubleshooting document for a CP-8861 (FACTS.md §8): its `PID:` names
    /// `CP-8861`, while admins and the phone's User-Agent write `CP-8861-3PCC`: the same product. A different
    /// product stays a 403.
    @Test(arguments: [("CP-8861-3PCC", 200), ("cp-8861-3pcc", 200), ("CP-8861", 200), ("CP-8861-3PCC-K9=", 200),
                      ("CP-8851-3PCC", 403), ("CP-8861-3PCC-X", 403)])
    func realMICAgainstStoredModelSpellings(_ stored: String, _ status: Int) throws {
        let directory = try TemporaryDirectory()
        let pem = try makeCertificate(
            subject: "/serialNumber=PID:CP-8861 SN:FCH2133E8B9/O=Cisco Systems Inc./OU=CTG/CN=CP-8861-SEP2C3124C9F8E1", in: directory)
        let db = try makeDatabase(in: directory, devices: [Device(mac: MACAddress("2c3124c9f8e1")!, serial: "FCH2133E8B9", model: stored)],
                                  settings: [Setting(scope: .model(stored), name: "Station_Name", value: "{{model}}")])
        let (answer, log) = try runCGI(["PROVISIONER_DB": db, "REQUEST_METHOD": "GET", "PATH_INFO": "/2c3124c9f8e1.xml",
                                        "SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": pem])
        #expect(answer.status == status, "\(stored): \(log)")
        let body = String(decoding: answer.body, as: UTF8.self)
        if status == 200 {
            #expect(body.contains("<Station_Name>\(stored)</Station_Name>"), "\(body)")
        } else {
            #expect(body.contains("model mismatch"), "\(body)")
            #expect(log.contains("model mismatch"))
        }
    }

    @Test(arguments: KeyDerivationDigest.allCases)
    func cfgDecryptsWithOpenSSL(_ digest: KeyDerivationDigest) throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [
            Device(mac: phoneMAC, gzip: true, encryption: .aes256cbc(key: "phone key", digest: digest)),
        ], settings: [Setting(scope: .all, name: "Resync_Periodic", value: "3600")])
        let (answer, log) = try runCGI(phoneEnvironment(database: db, path: "/000E08ABCDEF.cfg"))
        #expect(answer.status == 200)
        #expect(answer.headers["Content-Type"] == "application/octet-stream")
        #expect(!log.contains("phone key"))
        let file = try write(answer.body, to: directory.path("p.cfg"))
        let decrypted = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", digest.rawValue, "-k", "phone key", "-in", file])
        #expect(decrypted.status == 0)
        let plain = try run("gzip", ["-dc"], input: decrypted.stdout)
        #expect(plain.text == "<flat-profile>\n  <Resync_Periodic>3600</Resync_Periodic>\n</flat-profile>\n")
    }

    @Test func gzDecodesWithGzip() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [Device(mac: phoneMAC)],
                                  settings: [Setting(scope: .all, name: "Resync_Periodic", value: "3600")])
        let (answer, _) = try runCGI(phoneEnvironment(database: db, path: "/000e08abcdef.gz"))
        #expect(answer.headers["Content-Type"] == "application/octet-stream")
        #expect(answer.headers["Content-Encoding"] == nil)
        let plain = try run("gzip", ["-dc"], input: Data(answer.body))
        #expect(plain.text == "<flat-profile>\n  <Resync_Periodic>3600</Resync_Periodic>\n</flat-profile>\n")
    }

    @Test func refusalsCarryAStatusLine() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [])
        let (answer, log) = try runCGI(phoneEnvironment(database: db))
        #expect(answer.headers["Status"] == "404 Not Found")
        #expect(String(decoding: answer.body, as: UTF8.self) == "unknown device\n")
        #expect(log.contains("reason=\"unknown device\""))
        let (forbidden, _) = try runCGI(phoneEnvironment(database: db, path: "/000e08ffffff.xml"))
        #expect(forbidden.headers["Status"] == "403 Forbidden")
        let (undefined, undefinedLog) = try runCGI(["PROVISIONER_DB": db])
        #expect(undefined.headers["Status"] == "403 Forbidden")
        #expect(undefinedLog.contains("certificate not verified"))
    }

    @Test func undefinedVariableIsA500AndTheLogNamesIt() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [Device(mac: phoneMAC)],
                                  settings: [Setting(scope: .all, name: "Proxy_1_", value: "{{sip_proxy}}")])
        let (answer, log) = try runCGI(phoneEnvironment(database: db))
        #expect(answer.headers["Status"] == "500 Internal Server Error")
        #expect(String(decoding: answer.body, as: UTF8.self) == "server error\n")
        #expect(log.contains("{{sip_proxy}}"))
    }

    @Test func seenIsRecordedUnlessTurnedOff() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [Device(mac: phoneMAC)])
        var environment = phoneEnvironment(database: db)
        environment["PROVISIONER_RECORD_SEEN"] = "0"
        _ = try runCGI(environment)
        #expect(!FileManager.default.fileExists(atPath: directory.path("journal.db")))
        environment["PROVISIONER_RECORD_SEEN"] = nil
        _ = try runCGI(environment)
        _ = try runCGI(environment)
        #expect(try run("sqlite3", [directory.path("journal.db"), "SELECT mac, remote_addr, firmware, count FROM seen"]).text
                == "000e08abcdef|192.0.2.10|11.3.7|2\n")
        #expect(try run("sqlite3", [directory.path("journal.db"), "SELECT count(*), min(status), max(status) FROM fetches"]).text
                == "2|200|200\n")
        // The configuration database was never opened for writing: its log is untouched.
        #expect(!FileManager.default.fileExists(atPath: db + "-wal") || ((try? FileManager.default.attributesOfItem(atPath: db + "-wal"))?[.size] as? Int ?? 0) == 0)
    }

    /// Each CGI process is usually alone with the file, so SQLite rebuilds the WAL index from the whole log when it
    /// opens, and a process that exits without closing never resets the log. Without the checkpoint the log grew
    /// by a frame or two per request for good, and every request read all of it.
    @Test func theWriteAheadLogStaysShortUnderManyRecordedRequests() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [Device(mac: phoneMAC)])
        let environment = phoneEnvironment(database: db)
        var largest = 0
        for _ in 0..<150 {
            _ = try runCGI(environment)
            let size = (try? FileManager.default.attributesOfItem(atPath: directory.path("journal.db") + "-wal"))?[.size] as? Int ?? 0
            largest = max(largest, size)
        }
        #expect(largest > 0, "the seen rows go through the log")
        // 64 frames before the checkpoint, plus the frames of one request.
        #expect(largest <= 32 + 80 * (24 + 4096), "the log reached \(largest) bytes")
        #expect(try run("sqlite3", [directory.path("journal.db"), "SELECT count FROM seen"]).text == "150\n")
    }

    @Test func headWritesNoBody() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [Device(mac: phoneMAC)],
                                  settings: [Setting(scope: .all, name: "Resync_Periodic", value: "3600")])
        let (answer, _) = try runCGI(phoneEnvironment(database: db, method: "HEAD"))
        #expect(answer.body.isEmpty)
        #expect(Int(answer.headers["Content-Length"] ?? "") ?? 0 > 0)
    }
}
