import Foundation
import Provisioning
import Testing

/// What a finished process left.
struct Outcome: CustomStringConvertible {
    var status: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
    var description: String { "status \(status)\nstdout: \(text.prefix(2000))\nstderr: \(stderr.prefix(2000))" }

    /// stdout parsed as JSON.
    func json() throws -> Any { try JSONSerialization.jsonObject(with: stdout) }
}

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program; stdout and stderr go to files so neither can block the other.
@discardableResult
func execute(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil,
             in directory: URL? = nil) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : try whichProgram(executable))
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = directory }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("provctl-io-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let inPipe = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inPipe
    try process.run()
    if let input { inPipe.fileHandleForWriting.write(input) }
    try inPipe.fileHandleForWriting.close()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return Outcome(status: process.terminationStatus, stdout: try Data(contentsOf: outURL),
                   stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

func whichProgram(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw SupportError("\(name) is not on PATH")
}

/// The provctl binary under test: $PROVCTL_BIN, else the one beside this test bundle (the scratch path in
/// use), else the newest `.build*/{debug,release}/provctl` of the package.
let provctlBinary: String = {
    let fileManager = FileManager.default
    if let path = ProcessInfo.processInfo.environment["PROVCTL_BIN"], !path.isEmpty { return path }
    var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = folder.appendingPathComponent("provctl").path
        if fileManager.isExecutableFile(atPath: candidate) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var found: [(String, Date)] = []
    for build in (try? fileManager.contentsOfDirectory(atPath: root.path)) ?? [] where build.hasPrefix(".build") {
        for flavour in ["debug", "release"] {
            let candidate = root.appendingPathComponent(build).appendingPathComponent(flavour).appendingPathComponent("provctl").path
            if fileManager.isExecutableFile(atPath: candidate),
               let date = (try? fileManager.attributesOfItem(atPath: candidate))?[.modificationDate] as? Date {
                found.append((candidate, date))
            }
        }
    }
    return found.sorted { $0.1 > $1.1 }.first?.0 ?? "provctl"
}()

/// One test's world: a temporary folder with its own database, and provctl and sqlite3 run against it.
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
    func provctl(_ arguments: String..., input: Data? = nil, environment: [String: String] = [:]) throws -> Outcome {
        try provctl(arguments: arguments, input: input, environment: environment)
    }

    @discardableResult
    func provctl(arguments: [String], input: Data? = nil, environment: [String: String] = [:]) throws -> Outcome {
        var env = ["PATH": "/usr/bin:/bin", "USER": "tester", "HOME": folder.path]
        env.merge(environment) { $1 }
        return try execute(provctlBinary, ["--db", db] + arguments, environment: env, input: input, in: folder)
    }

    /// Runs provctl and requires exit status 0.
    @discardableResult
    func ok(_ arguments: String..., input: Data? = nil) throws -> Outcome {
        try ok(arguments: arguments, input: input)
    }

    @discardableResult
    func ok(arguments: [String], input: Data? = nil) throws -> Outcome {
        let outcome = try provctl(arguments: arguments, input: input)
        guard outcome.status == 0 else { throw SupportError("provctl \(arguments) failed: \(outcome)") }
        return outcome
    }

    /// A query through the sqlite3 program (an independent reader), its output trimmed.
    func sql(_ query: String) throws -> String {
        let outcome = try execute("sqlite3", [db, query])
        guard outcome.status == 0 else { throw SupportError("sqlite3 \(query): \(outcome)") }
        return outcome.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A query on the journal beside the database (`journal.db`, made with its schema if missing), trimmed.
    func journalSQL(_ query: String) throws -> String {
        let outcome = try execute("sqlite3", [path("journal.db"), Journal.schema + query])
        guard outcome.status == 0 else { throw SupportError("sqlite3 journal \(query): \(outcome)") }
        return outcome.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `sqlite3 .dump`: every row of every table, for before/after comparisons.
    func dump() throws -> String {
        let outcome = try execute("sqlite3", [db, ".dump"])
        guard outcome.status == 0 else { throw SupportError("sqlite3 .dump: \(outcome)") }
        return outcome.text
    }

    func write(_ name: String, _ text: String) throws -> String {
        let target = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        return target
    }
}
