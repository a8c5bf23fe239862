import Foundation
import Provisioning
@_exported import TestSupport
import Testing

/// provctl under test: the binary beside this test bundle, or $PROVCTL_BIN.
let provctlBinary = builtProduct("provctl")

final class Sandbox {
    let folder: URL
    let db: String

    init(initialise: Bool = true) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("provctl-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        db = folder.appendingPathComponent("provisioner.db").path
        if initialise { try ok("init") }
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Runs `provctl --db DB args...` with USER=tester.
    @discardableResult
    func provctl(_ arguments: String..., input: Data? = nil, environment: [String: String] = [:]) throws -> ProcessOutcome {
        try provctl(arguments: arguments, input: input, environment: environment)
    }

    @discardableResult
    func provctl(arguments: [String], input: Data? = nil, environment: [String: String] = [:]) throws -> ProcessOutcome {
        var env = ["PATH": "/usr/bin:/bin", "USER": "tester", "HOME": folder.path]
        env.merge(environment) { $1 }
        return try run(provctlBinary, ["--db", db] + arguments, environment: env, input: input, in: folder.path)
    }

    /// Runs provctl and requires exit status 0.
    @discardableResult
    func ok(_ arguments: String..., input: Data? = nil) throws -> ProcessOutcome {
        try ok(arguments: arguments, input: input)
    }

    @discardableResult
    func ok(arguments: [String], input: Data? = nil) throws -> ProcessOutcome {
        let outcome = try provctl(arguments: arguments, input: input)
        guard outcome.status == 0 else { throw TestFailure("provctl \(arguments) failed: \(outcome)") }
        return outcome
    }

    /// Runs a listing provctl that exits 0 when it finds nothing and 5 (findings) when it lists something
    /// (`pending`, `drift`), and requires one of those with the exit status matching what it listed.
    @discardableResult
    func listed(_ arguments: String...) throws -> ProcessOutcome {
        let outcome = try provctl(arguments: arguments)
        guard outcome.status == 0 || outcome.status == 5 else { throw TestFailure("provctl \(arguments) failed: \(outcome)") }
        return outcome
    }

    /// A query through the sqlite3 program (an independent reader), its output trimmed.
    func sql(_ query: String) throws -> String {
        let outcome = try run("sqlite3", [db, query])
        guard outcome.status == 0 else { throw TestFailure("sqlite3 \(query): \(outcome)") }
        return outcome.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A query on the journal beside the database (`journal.db`, made with its schema if missing), trimmed.
    func journalSQL(_ query: String) throws -> String {
        let outcome = try run("sqlite3", [path("journal.db"), Journal.schema + query])
        guard outcome.status == 0 else { throw TestFailure("sqlite3 journal \(query): \(outcome)") }
        return outcome.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `sqlite3 .dump`: every row of every table, for before/after comparisons.
    func dump() throws -> String {
        let outcome = try run("sqlite3", [db, ".dump"])
        guard outcome.status == 0 else { throw TestFailure("sqlite3 .dump: \(outcome)") }
        return outcome.text
    }

    func write(_ name: String, _ text: String) throws -> String {
        let target = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        return target
    }
}

/// The name of the user running the tests (what the web server's user is, for `provctl check`, in a sandbox).
let currentUserName: String = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "root"
