// What the end-to-end tests drive: the Apache that `apache/serve` started, real TLS through curl, and the
// independent tools (openssl, gzip, xmllint, sqlite3) that judge what came back.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Where the running server is, from the environment `Tests/run` sets after `apache/serve`.
enum E2E {
    /// The state folder of `apache/serve` (`PROVISIONER_E2E_STATE`).
    static let state = ProcessInfo.processInfo.environment["PROVISIONER_E2E_STATE"].flatMap { $0.isEmpty ? nil : $0 }
    /// The port it listens on at 127.0.0.1 (`PROVISIONER_E2E_PORT`).
    static let port = ProcessInfo.processInfo.environment["PROVISIONER_E2E_PORT"].flatMap { Int($0) }
    /// True when both are set: every test but `configured` runs only then.
    static let isConfigured = state != nil && port != nil
    /// True under CI, where a missing server is a failure, not a reason to skip.
    static let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false

    /// The package root: this file is `Tests/EndToEndTests/Support.swift`.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var stateDirectory: String { state ?? "/nonexistent" }
    static var database: String { stateDirectory + "/provisioner.db" }
    static var serverPKI: String { stateDirectory + "/pki" }
    static var caCertificate: String { serverPKI + "/ca.pem" }
    static var errorLog: String { stateDirectory + "/error.log" }
    static var baseURL: String { "https://localhost:\(port ?? 0)" }
    static var pkiScript: String { root + "/apache/pki" }

    /// The built provctl: the newer of `.build/release/provctl` and `.build/debug/provctl`.
    static var provctl: String {
        get throws {
            let candidates = [".build/release/provctl", ".build/debug/provctl"].map { root + "/" + $0 }
                .filter { FileManager.default.isExecutableFile(atPath: $0) }
            let newest = candidates.max { modified($0) < modified($1) }
            return try #require(newest, "no provctl in .build/release or .build/debug: run swift build first")
        }
    }

    static func modified(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }
}

/// A finished process: exit status, standard output as bytes, standard error as text.
struct Finished {
    var status: Int32
    var output: Data
    var error: String
    var text: String { String(decoding: output, as: UTF8.self) }
}

/// A fresh folder under the system's temporary directory, removed by the caller.
func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "provisioner-e2e-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `executable` (a path, or a name looked up on PATH) with `arguments`; stdin, stdout and stderr go through
/// files, so a chatty process cannot block on a full pipe. A process still running after `timeout` seconds is
/// killed (SIGKILL) and recorded as an issue.
///
/// posix_spawn and waitpid rather than Foundation's Process: Process on Linux learns that a child ended when a
/// socket the child inherited closes, so a child that starts a daemon (apache2 -k start) never looks finished
/// while the daemon holds that socket. waitpid sees the child itself.
func run(_ executable: String, _ arguments: [String], input: Data? = nil, timeout: TimeInterval = 60) throws -> Finished {
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

    let argv = [executable] + arguments
    var cStrings = argv.map { strdup($0) }
    cStrings.append(nil)
    defer { cStrings.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = executable.contains("/")
        ? posix_spawn(&pid, executable, &actions, &attributes, cStrings, environ)
        : posix_spawnp(&pid, executable, &actions, &attributes, cStrings, environ)
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
    return Finished(status: exitCode,
                    output: FileManager.default.contents(atPath: outPath) ?? Data(),
                    error: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
}

/// Runs and requires exit status 0; returns standard output.
@discardableResult
func runChecked(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> Data {
    let finished = try run(executable, arguments, input: input)
    try #require(finished.status == 0, "\(executable) \(arguments.joined(separator: " ")) exited \(finished.status): \(finished.error)")
    return finished.output
}

/// A client certificate and its key on disk.
struct ClientCertificate: Sendable {
    var certificate: String
    var key: String
}

/// A phone of the tests: a MAC of its own (locally administered, random), a certificate in one of the two subject
/// forms of FACTS.md §1, signed by the CA the server trusts (or another one).
struct Phone: Sendable {
    enum Form: String, Sendable { case ouls, cn }

    var mac: String
    var serial: String
    var model: String
    var form: Form
    var credentials: ClientCertificate

    /// Makes the certificate with `apache/pki phone` in `folder`, signed by `caFolder` (the server's CA unless
    /// told otherwise).
    static func make(in folder: String, form: Form, model: String, caFolder: String = E2E.serverPKI) throws -> Phone {
        let mac = randomMAC()
        let serial = "E2E" + randomHex(4).uppercased()
        let name = "phone-" + mac
        try runChecked(E2E.pkiScript, ["phone", folder, name, "--ca", caFolder, "--form", form.rawValue,
                                       "--mac", mac, "--serial", serial, "--model", model])
        return Phone(mac: mac, serial: serial, model: model, form: form,
                     credentials: ClientCertificate(certificate: "\(folder)/\(name).pem", key: "\(folder)/\(name).key"))
    }

    /// Registers this phone as a device, with extra `provctl device add` options.
    func register(_ options: [String] = []) throws {
        try provctl(["device", "add", mac, "--serial", serial, "--model", model] + options)
    }
}

/// 12 lower-case hex digits with the locally administered bit set, so no real vendor's MAC is used.
func randomMAC() -> String { "02" + randomHex(5) }

func randomHex(_ bytes: Int) -> String {
    (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
}

/// Runs the built provctl on the server's database.
@discardableResult
func provctl(_ arguments: [String]) throws -> Data {
    try runChecked(try E2E.provctl, ["--db", E2E.database] + arguments)
}

/// One HTTPS exchange as curl saw it. `exitCode` is curl's: non-zero when the TLS handshake (or the
/// post-handshake client authentication) failed.
struct Exchange {
    var exitCode: Int32
    var status: Int
    var headers: [String: String]
    var body: Data
    var downloaded: Int
    var curlError: String
    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Fetches `path` from the server with curl over real TLS, presenting `client` (or no certificate). `method`
/// HEAD uses `--head`; other methods `-X`. Extra `options` go to curl as they are.
func fetch(_ path: String, as client: ClientCertificate?, method: String = "GET", headers: [String] = [],
           options: [String] = []) throws -> Exchange {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var arguments = ["-sS", "--max-time", "20", "--cacert", E2E.caCertificate,
                     "-D", folder + "/headers", "-o", folder + "/body", "-w", "%{http_code} %{size_download}"]
    if let client { arguments += ["--cert", client.certificate, "--key", client.key] }
    switch method {
    case "GET": break
    case "HEAD": arguments.append("--head")
    default: arguments += ["-X", method]
    }
    for header in headers { arguments += ["-H", header] }
    arguments += options
    arguments.append(E2E.baseURL + path)
    let finished = try run("curl", arguments)
    let fields = finished.text.split(separator: " ")
    var parsed: [String: String] = [:]
    let headerText = (try? String(contentsOfFile: folder + "/headers", encoding: .utf8)) ?? ""
    for line in headerText.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
        guard let colon = line.firstIndex(of: ":") else { continue }
        parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return Exchange(exitCode: finished.status, status: fields.first.flatMap { Int($0) } ?? 0, headers: parsed,
                    body: FileManager.default.contents(atPath: folder + "/body") ?? Data(),
                    downloaded: fields.dropFirst().first.flatMap { Int($0) } ?? -1, curlError: finished.error)
}

/// Writes `data` to a temporary file and runs `tool` on it; the file path is passed where `{}` stands.
func runOnFile(_ data: Data, _ tool: String, _ arguments: [String]) throws -> Finished {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/data"
    _ = FileManager.default.createFile(atPath: path, contents: data)
    return try run(tool, arguments.map { $0 == "{}" ? path : $0 })
}

/// True when xmllint finds `data` well-formed.
func isWellFormedXML(_ data: Data) throws -> Bool {
    try runOnFile(data, "xmllint", ["--noout", "{}"]).status == 0
}

/// The string value of an XPath expression, as xmllint computes it (xmllint ends it with one newline).
func xpath(_ data: Data, _ expression: String) throws -> String {
    let finished = try runOnFile(data, "xmllint", ["--xpath", "string(\(expression))", "{}"])
    try #require(finished.status == 0, "xmllint --xpath: \(finished.error)")
    var text = finished.text
    if text.hasSuffix("\n") { text.removeLast() }
    return text
}

/// `gzip -d` of `data`; nil when gzip refuses it.
func gunzip(_ data: Data) throws -> Data? {
    let finished = try run("gzip", ["-dc"], input: data)
    return finished.status == 0 ? finished.output : nil
}

/// `openssl enc -d -aes-256-cbc -md DIGEST -k KEY` of `data`; nil when openssl refuses it. The key is passed
/// through a file (`-kfile`), never on a command line others could read.
func opensslDecrypt(_ data: Data, key: String, digest: String) throws -> Data? {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    _ = FileManager.default.createFile(atPath: folder + "/key", contents: Data((key + "\n").utf8))
    _ = FileManager.default.createFile(atPath: folder + "/in", contents: data)
    let finished = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", digest, "-kfile", folder + "/key",
                                       "-in", folder + "/in"])
    return finished.status == 0 ? finished.output : nil
}

/// One value from SQLite through the sqlite3 command-line tool (not our own wrapper).
func sqlite(_ sql: String) throws -> String {
    let output = try runChecked("sqlite3", ["-readonly", E2E.database, sql])
    return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// One value from the journal beside the database, waiting up to two seconds for it to equal `expected`: the CGI
/// writes its journal after the phone has its answer.
func journal(_ sql: String, awaiting expected: String) throws -> String {
    let path = (E2E.database as NSString).deletingLastPathComponent + "/journal.db"
    let deadline = Date().addingTimeInterval(2)
    while true {
        let output = try? runChecked("sqlite3", ["-readonly", path, sql])
        let text = output.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        if text == expected || Date() > deadline { return text }
        usleep(50_000)
    }
}

/// Lines of the server's error log that mention `needle`, waiting up to two seconds for them to appear
/// (mod_cgid writes the CGI's stderr line as the CGI exits).
func errorLogLines(containing needle: String) -> [String] {
    let deadline = Date().addingTimeInterval(2)
    while true {
        let text = (try? String(contentsOfFile: E2E.errorLog, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").map(String.init).filter { $0.contains(needle) }
        if !lines.isEmpty || Date() > deadline { return lines }
        usleep(50_000)
    }
}
