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

        let added = "ALTER TABLE fetches ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;"
        let grown = try JournalDefinition(schema: Journal.schema + added)
        #expect(grown.tables.first { $0.name == "fetches" }?.columns.map(\.name).last == "trusted")
        _ = try runChecked("sqlite3", [journalPath, added + "UPDATE fetches SET trusted = 0;"])
        journal.close()
        try journal.write([Self.entry("2c3124c9f8e1", at: 1_700_000_001_000_000)], waitMilliseconds: 1000)
        _ = try runChecked("sqlite3", [journalPath, "UPDATE fetches SET trusted = 1 WHERE id = 2"])
        shipper = try JournalShipper(journal: journalPath, ship: ship, definition: grown)
        let count = try shipper.shipOnce()
        #expect(count.addedColumns == ["fetches.trusted"])
        #expect(String(decoding: try runChecked("sqlite3", [ship, "SELECT id, trusted FROM fetches ORDER BY id"]), as: UTF8.self)
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
