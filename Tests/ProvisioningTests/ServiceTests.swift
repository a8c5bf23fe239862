import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing

@Suite("One request, environment to answer")
struct ServiceTests {
    let device = Device(mac: phoneMAC, serial: phoneSerial, model: phoneModel, group: "sales")
    let settings = [
        Setting(scope: .all, name: "Resync_Periodic", value: "3600", access: .na),
        Setting(scope: .device(phoneMAC), name: "Display_Name_1_", value: "Front Desk"),
    ]

    func respond(_ environment: [String: String]) -> (response: CGIResponse, log: RequestLog) {
        let answer = ProfileService.respond(environment: environment, now: 1_800_000_000_000_000)
        return (answer.response, answer.log)
    }

    func expectRefusal(_ environment: [String: String], status: Int, reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let (response, log) = respond(environment)
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(String(decoding: response.body, as: UTF8.self) == reason + "\n", sourceLocation: sourceLocation)
        #expect(response.contentType.hasPrefix("text/plain"), sourceLocation: sourceLocation)
        #expect(log.status == status && log.reason == reason, sourceLocation: sourceLocation)
        #expect(log.line.contains("status=\(status)"), sourceLocation: sourceLocation)
    }

    /// The shared table of refusals (TestSupport), one case per refusal of the catalogue, answered in-process:
    /// status, one-line body, log line and the catalogue's headers.
    @Test(arguments: refusalCases)
    func refusalTable(_ refusal: RefusalCase) throws {
        if skipNote(refusal, at: .inProcess) != nil { return }
        let directory = try TemporaryDirectory()
        let db = try LocalCaller.database(in: directory)
        let caller = LocalCaller.of(refusal.caller)
        let environment = caller.environment(database: db, for: refusal)
        let held = try caller.prepare(refusal, database: db)
        var request = Request(environment: StringTable(environment))
        if let body = refusal.body, request.bodyAllowed { request.body = Array(body.prefix(Request.bodyLimit + 1)) }
        let answer = ProfileService(configuration: Configuration(environment: StringTable(environment)))
            .respond(to: request, now: Int(Date().timeIntervalSince1970 * 1_000_000))  // the failed logins' clock
        withExtendedLifetime(held) {}
        #expect(answer.response.status == refusal.status)
        #expect(String(decoding: answer.response.body, as: UTF8.self) == refusal.reason + "\n")
        #expect(answer.log.status == refusal.status && answer.log.reason == refusal.reason)
        #expect(answer.log.line.contains("status=\(refusal.status)"))
        let headers = Dictionary(answer.response.extraHeaders, uniquingKeysWith: { first, _ in first })
        #expect(refusal.kind?.headerProblems(headers) == [])
    }

    /// The table holds every case of the catalogue once, with the catalogue's status and reason; the in-process
    /// level skips none; every skip states its reason.
    @Test func theTableIsTheCatalogue() {
        #expect(refusalCases.compactMap(\.kind) == RefusalKind.allCases)
        #expect(refusalCases.allSatisfy { $0.kind.map { $0.status } == $0.status && $0.kind.map { $0.reason } == $0.reason })
        #expect(refusalCases.allSatisfy { $0.skipReason(at: .inProcess) == nil })
        #expect(refusalCases.allSatisfy { $0.skipped.values.allSatisfy { $0.count > 20 } })
        #expect(Set(RefusalKind.allCases.map(\.reason)).count == RefusalKind.allCases.count, "two cases share a reason")
    }

    @Test func knownPhoneGetsItsProfile() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device], settings: settings)
        let (response, log) = respond(phoneEnvironment(database: db))
        #expect(response.status == 200)
        #expect(response.contentType == "text/xml; charset=utf-8")
        #expect(String(decoding: response.body, as: UTF8.self) == """
            <flat-profile>
              <Display_Name_1_>Front Desk</Display_Name_1_>
              <Resync_Periodic ua="na">3600</Resync_Periodic>
            </flat-profile>

            """)
        #expect(log.line.contains("mac=000e08abcdef"))
        #expect(log.line.contains("fw=11.3.7"))
    }

    @Test func factoryStyleNameServesTheCallersOwnProfile() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device], settings: settings)
        let (response, _) = respond(phoneEnvironment(database: db, path: "/prov/CP-8841-3PCC.xml"))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("Front Desk"))
    }

    @Test func everyRefusal() throws {
        let directory = try TemporaryDirectory()
        let other = MACAddress("000e08000002")!
        let db = try makeDatabase(in: directory, devices: [
            device,
            Device(mac: other, serial: "S2", model: phoneModel, enabled: false),
            Device(mac: MACAddress("000e08000003")!, serial: "S3", model: "CP-7841-3PCC"),
        ], settings: settings)
        let base = phoneEnvironment(database: db)
        expectRefusal(base.merging(["PATH_INFO": "/000e08000002.xml"]) { $1 }, status: 403, reason: "MAC mismatch")
        expectRefusal(base.merging(["REQUEST_METHOD": "PUT"]) { $1 }, status: 405, reason: "method not allowed")
        expectRefusal(base.merging(["SSL_CLIENT_VERIFY": "NONE"]) { $1 }, status: 403, reason: "certificate not verified")
        expectRefusal(base.merging(["SSL_CLIENT_S_DN_ST": "ciscogeneric", "SSL_CLIENT_S_DN_L": "ciscogeneric",
                                    "SSL_CLIENT_S_DN_OU": "cisco.com"]) { $1 }, status: 403, reason: "generic certificate")
        expectRefusal(phoneEnvironment(database: db, path: "/x.xml", mac: "000e08000002", serial: "S2"),
                      status: 403, reason: "device disabled")
        expectRefusal(phoneEnvironment(database: db, path: "/x.xml", serial: "OTHER"), status: 403, reason: "serial mismatch")
        expectRefusal(phoneEnvironment(database: db, path: "/x.xml", mac: "000e08000003", serial: "S3"),
                      status: 403, reason: "model mismatch")
        expectRefusal(phoneEnvironment(database: db, path: "/x.xml", mac: "000e08000099"), status: 404, reason: "unknown device")
        expectRefusal(base.merging(["PATH_INFO": "/000e08abcdef.cfg"]) { $1 }, status: 404, reason: "no encryption configured")
        expectRefusal(base.merging(["PATH_INFO": "/000e08abcdef.bin"]) { $1 }, status: 404, reason: "unsupported file type")
    }

    @Test func serialComparisonIgnoresCase() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device])
        #expect(respond(phoneEnvironment(database: db, serial: phoneSerial.lowercased())).response.status == 200)
    }

    @Test func methodNotAllowedSaysWhatIs() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device])
        let (response, _) = respond(phoneEnvironment(database: db, method: "POST"))
        #expect(response.extraHeaders.contains { $0 == ("Allow", "GET, HEAD") })
    }

    @Test func headHasHeadersButNoBody() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device], settings: settings)
        let (response, _) = respond(phoneEnvironment(database: db, method: "HEAD"))
        let text = String(decoding: response.serialized(), as: UTF8.self)
        #expect(text.hasSuffix("\r\n\r\n"))
        #expect(text.contains("Content-Length: \(response.body.count)\r\n"))
        #expect(response.body.count > 0)
    }

    @Test func unknownPhoneIsRememberedOnceWithACount() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device])
        let stranger = phoneEnvironment(database: db, path: "/x.xml", mac: "000e08000099", serial: "NEW1", model: "CP-7841-3PCC")
        let journal = Journal(path: directory.path("journal.db"), node: "n1")
        for _ in 0..<50 {
            try journal.write([ProfileService.respond(environment: stranger, now: 1_800_000_000_000_000).bookkeeping], waitMilliseconds: 100)
        }
        let store = try ConfigurationEditor(path: db, mode: .readWrite)
        try store.attachJournals(JournalFiles(databasePath: db, environment: [:]))
        let claims = try store.journal.claims()
        #expect(claims.count == 1)
        let claim = try #require(claims.first)
        #expect(claim.mac.hex == "000e08000099")
        #expect(claim.serial == "NEW1")
        #expect(claim.model == "CP-7841-3PCC")
        #expect(claim.remoteAddress == "192.0.2.10")
        #expect(claim.count == 50)
        // Checked with the sqlite3 tool too: one row.
        #expect(try run("sqlite3", [directory.path("journal.db"), "SELECT count(*), max(count) FROM claims"]).text == "1|50\n")
    }

    @Test func anUnwritableJournalLosesTheRecordCountedNeverTheAnswer() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device])
        // A journal path in a folder that does not exist: nothing can be written there.
        let journal = Journal(path: directory.path("missing/journal.db"), node: "n1")
        let answer = ProfileService.respond(environment: phoneEnvironment(database: db), now: 1_800_000_000_000_000)
        #expect(answer.response.status == 200)
        #expect(throws: SQLiteError.self) { try journal.write([answer.bookkeeping], waitMilliseconds: 10) }
        // Counted where provctl check finds it (for a journal whose folder exists).
        let counted = Journal(path: directory.path("journal.db"), node: "n1")
        // The counter is named by the folder's device and inode, and /dev/shm outlives folders: a counter left by
        // an earlier folder with this inode (another user's, an Apache test's) would be ignored as not ours.
        if let stale = LostCounter(journalPath: counted.path).path { unlink(stale) }
        let before = LostCounter(journalPath: counted.path).read(take: false).count
        counted.countLost([answer.bookkeeping])
        let after = LostCounter(journalPath: counted.path).read(take: true)
        #expect(after.count == before + 2, "the fetch and the seen update")
    }

    @Test func missingDatabaseIs500WithAFixedBody() throws {
        let directory = try TemporaryDirectory()
        let (response, log) = respond(phoneEnvironment(database: directory.path("absent.db")))
        #expect(response.status == 500)
        #expect(String(decoding: response.body, as: UTF8.self) == "server error\n")
        #expect(log.line.contains("database unavailable"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("absent.db")))
    }

    @Test func olderSchemaIs500() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device])
        try ConfigurationEditor(path: db, mode: .readWrite).database.execute("PRAGMA user_version = 0")
        let (response, log) = respond(phoneEnvironment(database: db))
        #expect(response.status == 500)
        #expect(log.line.contains("provctl init"))
    }

    @Test func secretsNeverReachTheLogLine() throws {
        let directory = try TemporaryDirectory()
        let key = "sup3r-secret-key"
        var encrypted = device
        encrypted.encryption = .aes256cbc(key: key, digest: .sha256)
        let db = try makeDatabase(in: directory, devices: [encrypted], settings: [
            Setting(scope: .all, name: "Password_1_", value: "sip-pass-123"),
            Setting(scope: .all, name: "Proxy_1_", value: "{{undefined_thing}}"),
        ])
        for path in ["/000e08abcdef.cfg", "/000e08abcdef.xml"] {
            let (_, log) = respond(phoneEnvironment(database: db, path: path))
            #expect(!log.line.contains(key))
            #expect(!log.line.contains("sip-pass-123"))
        }
    }

    @Test func journalRecordsFetchesSeenAndClaims() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [device])
        let configuration = Configuration(databasePath: db, node: "node-a")
        let service = ProfileService(configuration: configuration)
        let journal = Journal(path: configuration.journalPath, node: "node-a")
        var first = service.respond(to: Request(environment: phoneEnvironment(database: db)), now: 1_800_000_000_000_000)
        first.finish(microseconds: 1234)
        let second = service.respond(to: Request(environment: phoneEnvironment(database: db)), now: 1_800_000_100_000_000)
        try journal.write([first.bookkeeping, second.bookkeeping], waitMilliseconds: 100)
        #expect(configuration.journalPath == directory.path("journal.db"))
        #expect(try run("sqlite3", [configuration.journalPath, "SELECT mac, node, first_seen, last_seen, firmware, count FROM seen"]).text
                == "000e08abcdef|node-a|1800000000|1800000100|11.3.7|2\n")
        // A refusal is a fetch but not a sighting; an unknown device's valid certificate is a claim.
        let refused = service.respond(to: Request(environment: phoneEnvironment(database: db, path: "/000e08000001.xml")), now: 1)
        try journal.write([refused.bookkeeping], waitMilliseconds: 100)
        #expect(try run("sqlite3", [configuration.journalPath, "SELECT count FROM seen"]).text == "2\n")
        #expect(try run("sqlite3", [configuration.journalPath, "SELECT status, reason, form, micros FROM fetches ORDER BY id"]).text
                == "200|ok|xml|1234\n200|ok|xml|0\n403|MAC mismatch|xml|0\n")
        // The fetch row carries the SHA-256 of the plaintext XML served.
        let served = String(decoding: first.response.body, as: UTF8.self)
        #expect(try run("sqlite3", [configuration.journalPath, "SELECT sha256 FROM fetches WHERE id = 1"]).text
                == Provisioning.Digest.sha256Hex(Array(served.utf8)) + "\n")
        // The configuration database was opened read-only: no table of its was written.
        #expect(try run("sqlite3", [db, "SELECT count(*) FROM sqlite_master WHERE name IN ('seen', 'claims')"]).text == "0\n")
    }

    @Test func unknownDeviceIsAClaim() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [])
        let configuration = Configuration(databasePath: db, node: "n1")
        let answer = ProfileService(configuration: configuration).respond(to: Request(environment: phoneEnvironment(database: db)), now: 1_800_000_000_000_000)
        #expect(answer.response.status == 404)
        #expect(answer.bookkeeping.claim)
        try Journal(path: configuration.journalPath, node: "n1").write([answer.bookkeeping], waitMilliseconds: 100)
        #expect(try run("sqlite3", [configuration.journalPath, "SELECT mac, node, count FROM claims"]).text == "000e08abcdef|n1|1\n")
    }

    @Test func logLineEscapesWhatCouldForgeAField() {
        var log = RequestLog(request: Request(environment: ["PATH_INFO": "/a b\n\"c\".xml", "REMOTE_ADDR": "::1"]))
        log.status = 404
        log.reason = "unknown device"
        log.detail = "CN=evil\u{202E}lmx.\u{7}"
        let line = log.line
        #expect(line.hasPrefix("profile-cgi: status=404 reason=\"unknown device\""))
        #expect(line.contains(#"path="/a b\x0a\"c\".xml""#))
        // U+202E (right-to-left override) is E2 80 AE in UTF-8: written as escapes, never as the character.
        #expect(line.contains(#"detail=CN=evil\xe2\x80\xaelmx.\x07"#) || line.contains(#"detail="CN=evil\xe2\x80\xaelmx.\x07""#))
        #expect(!line.contains("\n") && !line.unicodeScalars.contains { $0.value == 0x202E })
    }
}
