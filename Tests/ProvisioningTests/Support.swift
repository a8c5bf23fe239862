import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing

/// A temporary folder removed when the value goes away.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("provisioner-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// What a finished process left.
struct ProcessResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs a real program with arguments, an optional environment (replacing the inherited one) and stdin bytes.
@discardableResult
func run(_ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
         input: Data? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : try which(executable))
    process.arguments = arguments
    if let environment { process.environment = environment }
    // stderr goes to a file, so reading stdout to its end can never block on a full stderr pipe.
    let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)").path
    FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    let out = Pipe(), inPipe = Pipe()
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inPipe
    try process.run()
    try err.close()
    if let input { inPipe.fileHandleForWriting.write(input) }
    try inPipe.fileHandleForWriting.close()
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let stderrData = FileManager.default.contents(atPath: errPath) ?? Data()
    return ProcessResult(status: process.terminationStatus, stdout: stdoutData, stderr: String(decoding: stderrData, as: UTF8.self))
}

/// The full path of a program on PATH.
func which(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw TestFailure("\(name) is not on PATH")
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The folder holding the built products (profile-cgi) beside the test bundle.
func productsDirectory() -> URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
}

/// A self-signed certificate with `subject` (openssl's `/K=V/K=V` form), as PEM.
func makeCertificate(subject: String, in directory: TemporaryDirectory, name: String = "phone") throws -> String {
    let key = directory.path("\(name).key"), cert = directory.path("\(name).pem")
    let result = try run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                     "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", subject,
                                     "-utf8"])
    guard result.status == 0 else { throw TestFailure("openssl req failed: \(result.stderr)") }
    return try String(contentsOfFile: cert, encoding: .utf8)
}

/// A fresh database with one device and the given settings; returns its path.
func makeDatabase(in directory: TemporaryDirectory, devices: [Device], settings: [Setting] = [],
                  variables: [Variable] = []) throws -> String {
    let path = directory.path("provisioner.db")
    let store = try DeviceStore(path: path, mode: .create)
    for device in devices { try store.insert(device) }
    for setting in settings { try store.set(setting) }
    for variable in variables { try store.set(variable) }
    return path
}

let phoneMAC = MACAddress("000e08abcdef")!
let phoneSerial = "88012BA01234"
let phoneModel = "CP-8841-3PCC"

/// The CGI environment mod_ssl gives a phone whose certificate has the OU/L/ST subject.
func phoneEnvironment(database: String, path: String = "/000e08abcdef.xml", method: String = "GET",
                      mac: String = "000e08abcdef", serial: String = phoneSerial, model: String = phoneModel) -> [String: String] {
    [
        "PROVISIONER_DB": database, "REQUEST_METHOD": method, "PATH_INFO": path, "REMOTE_ADDR": "192.0.2.10",
        "HTTP_USER_AGENT": "Cisco-\(model)/11.3.7 (\(mac))", "SSL_CLIENT_VERIFY": "SUCCESS",
        "SSL_CLIENT_S_DN": "ST=\(mac),L=\(serial),OU=\(model)",
        "SSL_CLIENT_S_DN_OU": model, "SSL_CLIENT_S_DN_L": serial, "SSL_CLIENT_S_DN_ST": mac,
    ]
}

/// A CGI answer split into headers and body.
struct ParsedCGI {
    var headers: [String: String]
    var body: [UInt8]
    var status: Int { Int(headers["Status"]?.prefix(3) ?? "200") ?? 0 }

    init(_ bytes: [UInt8]) throws {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let range = bytes.firstRange(of: separator) else { throw TestFailure("no blank line after the CGI headers") }
        headers = [:]
        for line in String(decoding: bytes[..<range.lowerBound], as: UTF8.self).components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { throw TestFailure("bad header line \(line)") }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        body = Array(bytes[range.upperBound...])
    }
}

/// Writes `bytes` to a file and returns its path.
func write(_ bytes: [UInt8], to path: String) throws -> String {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}
