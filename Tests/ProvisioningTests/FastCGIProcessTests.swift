// profile-cgi as a FastCGI responder, started as mod_fcgid starts it (spawn-fcgi hands it a listening socket on
// fd 0), driven by libfcgi's own client (cgi-fcgi from Debian's libfcgi-bin): one process, many requests.
import Foundation
import Provisioning
import ProvisioningAdmin
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("profile-cgi as a FastCGI responder", .serialized,
       .enabled(if: (try? which("spawn-fcgi")) != nil && (try? which("cgi-fcgi")) != nil))
final class FastCGIProcessTests {
    let directory: TemporaryDirectory
    let database: String
    let socket: String
    let pidFile: String
    var pid: pid_t = 0

    init() throws {
        directory = try TemporaryDirectory()
        database = try LocalCaller.database(in: directory, settings: [Setting(scope: .all, name: "Resync_Periodic", value: "3600")])
        socket = directory.path("fcgi.sock")
        pidFile = directory.path("fcgi.pid")
        try start()
    }

    deinit {
        if pid > 0 { kill(pid, SIGKILL) }
    }

    func start(environment extra: [String: String] = [:]) throws {
        let environment = ["PROVISIONER_DB": database, "PROVISIONER_NODE": "fcgi-test", "PATH": "/usr/bin:/bin"]
            .merging(extra) { _, new in new }
        let started = try run("spawn-fcgi", ["-s", socket, "-P", pidFile, "--", builtProduct("profile-cgi")],
                              environment: environment)
        try #require(started.status == 0, "spawn-fcgi: \(started.stderr)")
        pid = pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        try #require(pid > 0)
    }

    /// One request through libfcgi's client: the CGI-style answer, split.
    func request(_ environment: [String: String], body: [UInt8]? = nil) throws -> (ParsedCGI, String) {
        var env = environment
        env["PATH"] = "/usr/bin:/bin"
        env.removeValue(forKey: "PROVISIONER_DB") // the responder's configuration is its own process environment
        let outcome = try run("cgi-fcgi", ["-bind", "-connect", socket], environment: env, input: body.map { Data($0) },
                              timeout: 20)
        // cgi-fcgi writes the responder's stderr stream (the log line) to its own stderr.
        return (try ParsedCGI(Array(outcome.stdout)), outcome.stderr)
    }

    func setting(_ name: String, _ value: String) throws {
        try ConfigurationEditor(path: database, mode: .readWrite).set(Setting(scope: .all, name: name, value: value))
    }

    /// True while the responder runs (not gone, not a zombie waiting for its new parent to reap it).
    var isRunning: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    var rssKilobytes: Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("one process answers many phones; an admin change is served from the next request on")
    func freshAfterEveryCommit() throws {
        let known = LocalCaller.of(.known)
        for value in ["1200", "1800", "2400"] {
            try setting("Resync_Periodic", value)
            let (answer, log) = try request(known.environment(database: database, for: RefusalCase.ownProfile))
            #expect(answer.status == 200)
            #expect(String(decoding: answer.body, as: UTF8.self).contains("<Resync_Periodic>\(value)</Resync_Periodic>"))
            #expect(log.contains("status=200"))
        }
    }

    @Test("the refusal table, one after another on the same process", arguments: refusalCases)
    func refusals(_ refusal: RefusalCase) throws {
        if skipNote(refusal, at: .fastCGI) != nil { return }
        let caller = LocalCaller.of(refusal.caller)
        let held = try caller.prepare(refusal, database: database)
        let (answer, _) = try request(caller.environment(database: database, for: refusal), body: refusal.body)
        withExtendedLifetime(held) {}
        #expect(answer.status == refusal.status)
        #expect(String(decoding: answer.body, as: UTF8.self) == refusal.reason + "\n")
        #expect(refusal.kind?.headerProblems(answer.headers) == [])
        #expect(isRunning, "the process is still there for the next phone")
    }

    @Test("hostile requests do not take the process down for the next phone")
    func hostileRequests() throws {
        let known = LocalCaller.of(.known)
        var hostile = known.environment(database: database, for: refusalCases[0])
        hostile["PATH_INFO"] = String(repeating: "/\u{202E}\u{0}x", count: 2000) + ".xml"
        hostile["SSL_CLIENT_CERT"] = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"
        hostile["REQUEST_METHOD"] = "GET"
        hostile["CONTENT_LENGTH"] = "-5"
        let (bad, log) = try request(hostile)
        #expect(bad.status == 403 || bad.status == 404)
        #expect(!log.unicodeScalars.contains { $0.value == 0x202E })
        let (good, _) = try request(known.environment(database: database, for: RefusalCase(
            name: "profile", caller: .known, method: "GET", file: "{mac}.xml", status: 200, reason: "ok")))
        #expect(good.status == 200)
    }

    @Test("a database replaced under the process is read afresh; a broken one is 500, and then served again")
    func replacedAndBrokenDatabase() throws {
        let known = LocalCaller.of(.known)
        let profile = RefusalCase.ownProfile
        #expect(try request(known.environment(database: database, for: profile)).0.status == 200)
        // A new file at the path (a restore): the responder sees the new inode.
        let replacement = directory.path("replacement.db")
        try FileManager.default.copyItem(atPath: database, toPath: replacement)
        try ConfigurationEditor(path: replacement, mode: .readWrite).set(Setting(scope: .all, name: "GPP_A", value: "restored"))
        try FileManager.default.removeItem(atPath: database)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        try FileManager.default.moveItem(atPath: replacement, toPath: database)
        let (restored, _) = try request(known.environment(database: database, for: profile))
        #expect(String(decoding: restored.body, as: UTF8.self).contains("<GPP_A>restored</GPP_A>"))
        // Broken: random bytes in place of the file.
        try FileManager.default.moveItem(atPath: database, toPath: database + ".good")
        try Data((0..<8192).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: database))
        let (broken, _) = try request(known.environment(database: database, for: profile))
        #expect(broken.status == 500)
        try FileManager.default.removeItem(atPath: database)
        try FileManager.default.moveItem(atPath: database + ".good", toPath: database)
        #expect(try request(known.environment(database: database, for: profile)).0.status == 200)
    }

    @Test("the journal: every answer recorded by the node, after the answer")
    func journal() throws {
        let known = LocalCaller.of(.known)
        let profile = RefusalCase.ownProfile
        for _ in 0..<5 { _ = try request(known.environment(database: database, for: profile)) }
        let journal = directory.path("journal.db")
        var count = ""
        for _ in 0..<40 {
            count = try run("sqlite3", [journal, "SELECT count(*) FROM fetches WHERE node = 'fcgi-test' AND status = 200"]).text
            if count == "5\n" { break }
            usleep(50_000)
        }
        #expect(count == "5\n")
    }

    @Test("memory stays flat over many requests (2,000 here; bench/fcgi-rss runs the long form)")
    func memoryStaysFlat() throws {
        let known = LocalCaller.of(.known)
        let profile = RefusalCase.ownProfile
        for _ in 0..<200 { _ = try request(known.environment(database: database, for: profile)) }
        let early = rssKilobytes
        for _ in 0..<1800 { _ = try request(known.environment(database: database, for: profile)) }
        let late = rssKilobytes
        print("FastCGI RSS after 200 requests: \(early) kB, after 2,000: \(late) kB")
        #expect(early > 0 && Double(late) <= Double(early) * 1.10 + 256, "RSS grew from \(early) kB to \(late) kB")
    }

    @Test("SIGTERM ends the process cleanly after the request under way")
    func stopsOnSIGTERM() throws {
        #expect(kill(pid, SIGTERM) == 0)
        var gone = false
        for _ in 0..<100 {
            if !isRunning { gone = true; break }
            usleep(20_000)
        }
        #expect(gone, "the responder did not stop within 2 s")
        pid = 0
    }

    @Test("SIGTERM cuts a journal lock wait short: with the journal held, the responder still stops at once")
    func sigtermCutsAJournalLockWaitShort() throws {
        // A responder whose journal writes wait up to 10 s (the most the setting allows) for the lock.
        kill(pid, SIGKILL)
        while isRunning { usleep(10_000) }
        try? FileManager.default.removeItem(atPath: socket)
        try start(environment: ["PROVISIONER_JOURNAL_WAIT_MS": "10000"])
        let known = LocalCaller.of(.known)
        let profile = RefusalCase.ownProfile
        let journalPath = directory.path("journal.db")
        #expect(try request(known.environment(database: database, for: profile)).0.status == 200)
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: journalPath) { usleep(20_000) }
        // Another writer holds the journal's lock; the next answer's record waits for it.
        let holder = try SQLiteDatabase(path: journalPath, mode: .readWrite)
        try holder.execute("BEGIN IMMEDIATE")
        #expect(try request(known.environment(database: database, for: profile)).0.status == 200)
        usleep(300_000)
        #expect(isRunning, "the responder ended before the signal")
        let sent = Clock.monotonicMicroseconds()
        #expect(kill(pid, SIGTERM) == 0)
        var gone = false
        for _ in 0..<150 {
            if !isRunning { gone = true; break }
            usleep(20_000)
        }
        let waited = (Clock.monotonicMicroseconds() - sent) / 1000
        try holder.execute("ROLLBACK")
        #expect(gone && waited < 2000, "the responder took \(waited) ms to stop with the journal held (its wait is 10 s)")
        if gone { pid = 0 }
    }
}
