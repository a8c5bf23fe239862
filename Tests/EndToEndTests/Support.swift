// What the end-to-end tests drive: the Apache that `apache/serve` started, real TLS through curl, and the
// independent tools (openssl, gzip, xmllint, sqlite3) that judge what came back.
import Foundation
import Testing
@_exported import TestSupport
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
func runOnFile(_ data: Data, _ tool: String, _ arguments: [String]) throws -> ProcessOutcome {
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
        // Not runChecked: the file may not exist yet, which is no failure until the deadline.
        let outcome = try run("sqlite3", ["-readonly", path, sql])
        let text = outcome.status == 0 ? outcome.text.trimmingCharacters(in: .whitespacesAndNewlines) : outcome.stderr
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
