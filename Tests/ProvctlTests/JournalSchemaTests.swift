import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing
import TestSupport

/// The journal's schema is defined once (`Journal.schema`, read back as `JournalDefinition`): the readers' views
/// take their columns from it, and the C reference's copy is checked against it.
@Suite("journal schema: one definition for the writer, the views, the shipper and ref-cgi.c")
struct JournalSchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The text of the C string literal `name` in `source` (adjacent literals joined, `\n` and `\"` unescaped).
    static func cString(_ name: String, in source: String) throws -> String {
        guard let start = source.range(of: name + " =") else { throw TestFailure("no \(name) in ref-cgi.c") }
        guard let end = source.range(of: "\";\n", range: start.upperBound..<source.endIndex) else { throw TestFailure("\(name) does not end") }
        var text = "", inside = false, escaped = false
        for character in source[start.upperBound..<end.upperBound] {
            if inside {
                if escaped {
                    text.append(character == "n" ? "\n" : character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inside = false
                } else {
                    text.append(character)
                }
            } else if character == "\"" {
                inside = true
            }
        }
        return text
    }

    @Test("bench/ref-cgi.c makes the writer's tables, columns (name, type, NOT NULL, default) and indexes, at its version")
    func referenceSchemaIsTheWritersSchema() throws {
        let source = try String(contentsOf: Self.root.appendingPathComponent("bench/ref-cgi.c"), encoding: .utf8)
        let schema = try Self.cString("JOURNAL_SCHEMA", in: source)
        #expect(schema.contains("CREATE TABLE IF NOT EXISTS fetches"))
        let reference = try JournalDefinition(schema: schema)
        let writer = try JournalDefinition.current()
        #expect(reference.tables.map(\.name) == writer.tables.map(\.name))
        for table in writer.tables {
            let columns = reference.tables.first { $0.name == table.name }?.columns
            #expect(columns == table.columns, "ref-cgi.c's \(table.name)")
        }
        #expect(reference.indexes.map(\.name) == writer.indexes.map(\.name))
        #expect(schema.contains("PRAGMA user_version = \(Journal.schemaVersion);"))
    }

    @Test("the readers' column names, read from Journal.schema's text, are SQLite's reading of it")
    func columnNamesAreSQLitesReading() throws {
        let writer = try JournalDefinition.current()
        #expect(Set(JournalReader.columns.keys) == Set(writer.tables.map(\.name)))
        for table in writer.tables {
            #expect(JournalReader.columns[table.name] == table.columns.map(\.name), "\(table.name)")
        }
        // A constraint item is not a column; a comma inside parentheses does not split.
        let parsed = JournalReader.columnNames(inSchema: """
            CREATE TABLE IF NOT EXISTS t (a TEXT, b INTEGER CHECK (b IN (1, 2)), PRIMARY KEY (a, b)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS t_by_b ON t (b);
            """)
        #expect(parsed == ["t": ["a", "b"]])
    }

    @Test("the readers' views have the writer's columns, with no journal and with one")
    func viewsHaveTheWritersColumns() throws {
        let directory = try TemporaryDirectory()
        let writer = try JournalDefinition.current()
        func viewColumns(_ editor: ConfigurationEditor, _ view: String) throws -> [String] {
            try JournalDefinition.columns(of: view, schema: "temp", in: editor.database).map(\.name)
        }
        let db = directory.path("provisioner.db")
        let editor = try ConfigurationEditor(path: db, mode: .create)
        let journal = directory.path("journal.db")
        try editor.attachJournals(JournalFiles(local: journal, folder: directory.path("none")))
        #expect(editor.journal.attached.isEmpty)
        for table in ["seen", "claims", "fetches", "lost", "reports", "phone_log"] {
            #expect(try viewColumns(editor, table) == writer.tables.first { $0.name == table }?.columns.map(\.name), "\(table), no journal")
        }
        _ = try Journal(path: journal, node: "n1").openForAdmin(waitMilliseconds: 100)
        let withJournal = try ConfigurationEditor(path: db, mode: .readWrite)
        try withJournal.attachJournals(JournalFiles(local: journal, folder: directory.path("none")))
        #expect(withJournal.journal.attached == ["j0"])
        for table in ["seen", "claims", "fetches", "lost", "reports", "phone_log"] {
            #expect(try viewColumns(withJournal, table) == writer.tables.first { $0.name == table }?.columns.map(\.name), "\(table), one journal")
        }
    }
}
