import Foundation
public import Provisioning
public import ProvisioningAdmin

public let phoneMAC = MACAddress("000e08abcdef")!
public let phoneSerial = "88012BA01234"
public let phoneModel = "CP-8841-3PCC"

/// The CGI environment mod_ssl gives a phone whose certificate has the OU/L/ST subject.
public func phoneEnvironment(database: String, path: String = "/000e08abcdef.xml", method: String = "GET",
                             mac: String = "000e08abcdef", serial: String = phoneSerial,
                             model: String = phoneModel) -> [String: String] {
    [
        "PROVISIONER_DB": database, "REQUEST_METHOD": method, "PATH_INFO": path, "REMOTE_ADDR": "192.0.2.10",
        "HTTP_USER_AGENT": "Cisco-\(model)/11.3.7 (\(mac))", "SSL_CLIENT_VERIFY": "SUCCESS",
        "SSL_CLIENT_S_DN": "ST=\(mac),L=\(serial),OU=\(model)",
        "SSL_CLIENT_S_DN_OU": model, "SSL_CLIENT_S_DN_L": serial, "SSL_CLIENT_S_DN_ST": mac,
    ]
}

/// A self-signed certificate with `subject` (openssl's `/K=V/K=V` form), as PEM.
public func makeCertificate(subject: String, in directory: TemporaryDirectory, name: String = "phone") throws -> String {
    let key = directory.path("\(name).key"), cert = directory.path("\(name).pem")
    let result = try run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                     "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", subject, "-utf8"])
    guard result.status == 0 else { throw TestFailure("openssl req failed: \(result.stderr)") }
    return try String(contentsOfFile: cert, encoding: .utf8)
}

/// A fresh configuration database with these devices, settings and variables; returns its path.
public func makeDatabase(in directory: TemporaryDirectory, devices: [Device], settings: [Setting] = [],
                         variables: [Variable] = []) throws -> String {
    let path = directory.path("provisioner.db")
    let store = try ConfigurationEditor(path: path, mode: .create)
    for device in devices { try store.insert(device) }
    for setting in settings { try store.set(setting) }
    for variable in variables { try store.set(variable) }
    return path
}

/// A CGI answer split into headers and body.
public struct ParsedCGI {
    public var headers: [String: String]
    public var body: [UInt8]
    public var status: Int { Int(headers["Status"]?.prefix(3) ?? "200") ?? 0 }

    public init(_ bytes: [UInt8]) throws {
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
@discardableResult
public func write(_ bytes: [UInt8], to path: String) throws -> String {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}
