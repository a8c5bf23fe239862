// Shared by every test target: real programs run as processes, temporary folders, the products under test,
// phone environments and certificates, and the table of refusal cases that runs in-process, as a process and
// through Apache.
public import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What a finished process left: exit status (128 + signal when killed), standard output as bytes, standard
/// error as text.
public struct ProcessOutcome: CustomStringConvertible, Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public init(status: Int32, stdout: Data, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
    public var output: Data { stdout }
    public var error: String { stderr }
    public var text: String { String(decoding: stdout, as: UTF8.self) }
    public var description: String { "status \(status)\nstdout: \(text.prefix(2000))\nstderr: \(stderr.prefix(2000))" }
    /// stdout parsed as JSON.
    public func json() throws -> Any { try JSONSerialization.jsonObject(with: stdout) }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The full path of a program on PATH.
public func which(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw TestFailure("\(name) is not on PATH")
}

/// Runs `executable` (a path, or a name looked up on PATH) with `arguments`; stdin, stdout and stderr go through
/// files, so a chatty process cannot block on a full pipe. A process still running after `timeout` seconds is
/// killed (SIGKILL) and recorded as an issue.
///
/// posix_spawn and waitpid rather than Foundation's Process: Process on Linux learns that a child ended when a
/// socket the child inherited closes, so a child that starts a daemon (apache2 -k start) never looks finished
/// while the daemon holds that socket. waitpid sees the child itself.
public func run(_ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil, input: Data? = nil,
                in directory: String? = nil, timeout: TimeInterval = 120) throws -> ProcessOutcome {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let outPath = folder + "/out", errPath = folder + "/err", inPath = folder + "/in"
    _ = FileManager.default.createFile(atPath: inPath, contents: input ?? Data())

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

    // The child starts with no signal blocked and default dispositions: a test thread may block SIGTERM, and
    // a blocked mask is inherited through exec, down to an apache2 that would then ignore its stop signal.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var executable = executable, arguments = arguments
    if let directory {
        // Started through sh, which changes into the folder and execs the program (posix_spawn has no chdir here).
        arguments = ["-c", "cd \"$0\" && exec \"$@\"", directory, executable] + arguments
        executable = "/bin/sh"
    }
    let argv = [executable] + arguments
    var cStrings = argv.map { strdup($0) }
    cStrings.append(nil)
    defer { cStrings.forEach { free($0) } }
    var environmentStrings: [UnsafeMutablePointer<CChar>?] = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } } ?? []
    environmentStrings.append(nil)
    defer { environmentStrings.forEach { free($0) } }
    let path = executable.contains("/") ? executable : try which(executable)
    var pid: pid_t = 0
    let spawned = environment == nil
        ? posix_spawn(&pid, path, &actions, &attributes, cStrings, environ)
        : posix_spawn(&pid, path, &actions, &attributes, cStrings, &environmentStrings)
    try #require(spawned == 0, "cannot start \(executable): \(String(cString: strerror(spawned)))")

    let deadline = Date().addingTimeInterval(timeout)
    var status: Int32 = 0
    while true {
        let waited = waitpid(pid, &status, WNOHANG)
        if waited == pid { break }
        if waited < 0 && errno != EINTR {
            Issue.record("waitpid(\(executable)): \(String(cString: strerror(errno)))")
            break
        }
        if Date() > deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            Issue.record("\(executable) \(arguments.joined(separator: " ")) still ran after \(Int(timeout)) s; killed")
            break
        }
        usleep(2_000)
    }
    // WIFEXITED / WEXITSTATUS are macros: exit code in bits 8-15 when the low 7 bits are 0; else 128 + signal.
    let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ProcessOutcome(status: exitCode, stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
                          stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
}

/// Runs and requires exit status 0; returns standard output.
@discardableResult
public func runChecked(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> Data {
    let finished = try run(executable, arguments, input: input)
    try #require(finished.status == 0, "\(executable) \(arguments.joined(separator: " ")) exited \(finished.status): \(finished.stderr)")
    return finished.stdout
}
