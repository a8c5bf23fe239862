import Foundation
@testable import Provisioning
import ProvisioningAdmin
import Testing
import TestSupport

/// `SQLiteMigrator`, the one migration scheme of the three SQLite files, and files made by earlier releases
/// (their `user_version` numbers are the migrator's step counts).
@Suite("migrations: one migrator for the configuration, the journal and auth.db")
struct MigrationTests {
    /// `sqlite_master`'s tables and indexes of a file, and every table's columns, as text to compare.
    static func shape(_ path: String) throws -> String {
        let database = try SQLiteDatabase(path: path, mode: .readOnly)
        let master = try database.prepare("""
            SELECT type, name, (SELECT group_concat(name || ' ' || type || ' ' || "notnull" || ' ' || ifnull(dflt_value, '-'), ', ')
                                FROM pragma_table_info(m.name))
            FROM sqlite_master m WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name
            """)
        var lines: [String] = []
        while try master.step() { lines.append([master.text(0), master.text(1), master.text(2)].map { $0 ?? "" }.joined(separator: " | ")) }
        return lines.joined(separator: "\n") + "\nuser_version \(try database.userVersion())"
    }

    @Test("a configuration file at every version today's release writes (1...9) migrates to what a new file is")
    func configurationFromEveryVersion() throws {
        let directory = try TemporaryDirectory()
        let fresh = directory.path("fresh.db")
        _ = try ConfigurationEditor(path: fresh, mode: .create)
        let expected = try Self.shape(fresh)
        #expect(expected.hasSuffix("user_version \(ConfigurationStore.schemaVersion)"))
        for version in 1..<ConfigurationStore.schemaVersion {
            // What the current release leaves at `version`: its migrations 1...version, the version set after each.
            let old = directory.path("v\(version).db")
            let database = try SQLiteDatabase(path: old, mode: .create)
            for step in ConfigurationEditor.migrations.prefix(version).enumerated() {
                try database.execute(step.element.sql + "PRAGMA user_version = \(step.offset + 1);")
            }
            let editor = try ConfigurationEditor(path: old, mode: .readWrite)
            #expect(editor.versionAtOpen == version)
            #expect(try Self.shape(old) == expected, "from version \(version)")
        }
    }

    @Test("journals of version 1, 2 and 3 and a new one all end at version 3 with the same tables, rows kept")
    func journalFromEveryVersion() throws {
        let directory = try TemporaryDirectory()
        let fresh = directory.path("fresh.db")
        _ = try Journal(path: fresh, node: "n").openForAdmin(waitMilliseconds: 100)
        let expected = try Self.shape(fresh)
        #expect(expected.hasSuffix("user_version 3"))
        #expect(expected.contains("trusted INTEGER 0 -"))
        // Version 1: the tables without `fetches.trusted`; version 2: with reports, phone_log, retention.
        let v1 = Journal.schema.replacingOccurrences(of: Journal.migrations[0], with: "")
            .replacingOccurrences(of: ",\n    trusted INTEGER\n", with: "\n")
            .replacingOccurrences(of: "PRAGMA user_version = 3;", with: "")
        #expect(!v1.contains("trusted") && !v1.contains("reports"))
        let made = ["1": v1 + "PRAGMA user_version = 1;", "2": v1 + Journal.migrations[0] + "PRAGMA user_version = 2;",
                    "3": Journal.schema]
        for (version, sql) in made {
            let path = directory.path("journal-v\(version).db")
            let database = try SQLiteDatabase(path: path, mode: .create)
            try database.execute(sql + "INSERT INTO fetches (at, node, status, reason, bytes, micros) VALUES (1, 'old', 404, 'x', 0, 0);")
            #expect(try database.userVersion() == Int(version))
            _ = try Journal(path: path, node: "n").openForAdmin(waitMilliseconds: 100)
            // The same columns as a new journal; the column ALTER TABLE added sits last, as CREATE TABLE has it.
            #expect(try Self.shape(path) == expected, "from version \(version)")
            let check = try SQLiteDatabase(path: path, mode: .readOnly).prepare("SELECT count(*) FROM fetches WHERE node = 'old'")
            #expect(try check.step() && check.int(0) == 1)
        }
    }

    @Test("auth.db of version 1 (nonces, failures) migrates to 2 (attempts, known; failures dropped); 2 stays")
    func authFromVersion1() throws {
        let directory = try TemporaryDirectory()
        let fresh = directory.path("fresh-auth.db")
        _ = try AuthState(path: fresh)
        let expected = try Self.shape(fresh)
        let old = directory.path("auth.db")
        let database = try SQLiteDatabase(path: old, mode: .create)
        // auth.db as release 1 of it made it.
        try database.execute(AuthState.schema + """
            CREATE TABLE IF NOT EXISTS failures (address TEXT NOT NULL PRIMARY KEY, count INTEGER NOT NULL, first_at INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO nonces (nonce, nc, expires) VALUES ('kept', 1, 9);
            PRAGMA user_version = 1;
            """)
        _ = try AuthState(path: old)
        #expect(try Self.shape(old) == expected)
        #expect(!expected.contains("failures") && expected.contains("attempts") && expected.hasSuffix("user_version 2"))
        let nonce = try SQLiteDatabase(path: old, mode: .readOnly).prepare("SELECT nc FROM nonces WHERE nonce = 'kept'")
        #expect(try nonce.step() && nonce.int(0) == 1)
    }

    @Test("steps run in order, each in its own transaction: a failing step leaves the version before it; a newer file is refused")
    func migratorSteps() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("m.db")
        let database = try SQLiteDatabase(path: path, mode: .create)
        var migrator = SQLiteMigrator(file: "test")
        migrator.registerMigration("a", sql: "CREATE TABLE a (x);")
        migrator.registerMigration("b", sql: "CREATE TABLE b (x); INSERT INTO a VALUES (1); SELECT no_such_function();")
        do {
            try migrator.migrate(database)
            Issue.record("a failing step was not reported")
        } catch {
            #expect(error.message.contains("test migration 2 (b)"), "\(error)")
        }
        // Step 1 committed; step 2 rolled back whole.
        #expect(try database.userVersion() == 1)
        let tables = try database.prepare("SELECT group_concat(name) FROM sqlite_master WHERE type = 'table'")
        #expect(try tables.step() && tables.text(0) == "a")
        let rows = try database.prepare("SELECT count(*) FROM a")
        #expect(try rows.step() && rows.int(0) == 0)

        var fixed = SQLiteMigrator(file: "test")
        fixed.registerMigration("a", sql: "CREATE TABLE a (x);")
        fixed.registerMigration("b", sql: "CREATE TABLE b (x);")
        #expect(try fixed.migrate(database) == (from: 1, to: 2))
        #expect(try fixed.migrate(database) == (from: 2, to: 2))

        var older = SQLiteMigrator(file: "test")
        older.registerMigration("a", sql: "CREATE TABLE a (x);")
        do {
            try older.migrate(database)
            Issue.record("a file newer than the migrator was accepted")
        } catch {
            #expect(error.message == "test: schema version 2 is newer than this build (1)")
        }
    }
}
