import Foundation
import Testing

/// Tests/check-engine-in-library (issue 23, point 4): it fails when a string literal of the provctl target holds
/// an SQL statement, and passes on text that only mentions SQL words.
@Suite("the engine-in-library check finds SQL text in provctl and nothing else")
struct EngineCheckTests {
    static let script = packageRoot + "/Tests/check-engine-in-library"

    func check(_ files: [String: String]) throws -> ProcessOutcome {
        let sandbox = try Sandbox(initialise: false)
        for (name, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: sandbox.path(name))) }
        return try run("/usr/bin/env", ["python3", Self.script, sandbox.folder.path], environment: ["PATH": "/usr/bin:/bin"])
    }

    static let clean = """
        import ArgumentParser
        // SELECT mac FROM devices, in a comment, is no statement.
        let help = "Uses SQLite's VACUUM INTO, which reads one snapshot; select a scope, update a device, delete it."
        let multi = \"\"\"
            Deletes what provctl retention no longer keeps, in short transactions (BEGIN ... COMMIT of its own).
            \"\"\"
        """

    @Test("passes on a file that only mentions SQL words in help text and comments")
    func cleanPasses() throws {
        let outcome = try check(["Clean.swift": Self.clean])
        #expect(outcome.status == 0 && outcome.text.hasPrefix("ok:"), "\(outcome)")
    }

    @Test("fails on each planted statement, naming its file and line", arguments: [
        #"let sql = "SELECT mac FROM devices WHERE mac = ?1""#,
        #"try db.execute("BEGIN IMMEDIATE")"#,
        #"try db.execute("COMMIT")"#,
        #"try db.prepare("INSERT INTO variables (scope, target, name, value) VALUES (?1, ?2, ?3, ?4)")"#,
        #"try db.execute("DELETE FROM main.\(table)")"#,
        #"try db.execute("UPDATE devices SET enabled = 0")"#,
        #"try db.execute("PRAGMA cache_size = -131072")"#,
        #"try db.prepare("ATTACH DATABASE ?1 AS restored")"#,
        #"try db.prepare("VACUUM \(schema) INTO ?1")"#,
        "let q = \"\"\"\n    SELECT count(*)\n    FROM audit\n    \"\"\"",
        ##"let raw = #"CREATE TABLE t (a)"#"##,
    ])
    func plantedFails(_ statement: String) throws {
        let outcome = try check(["Clean.swift": Self.clean, "Planted.swift": "import Foundation\n\n" + statement + "\n"])
        #expect(outcome.status == 1 && outcome.text.contains("Planted.swift:3:") && !outcome.text.contains("Clean.swift"),
                "\(outcome)")
    }
}
