// The shared table of refusals (TestSupport's `refusalCases`), through the real Apache: each caller a real
// certificate from the test CA, each answer judged by curl. The same table runs in-process (ServiceTests) and
// with profile-cgi as a process (CGIProcessTests); Tests/run runs this suite against the CGI and the FastCGI
// server.
import Foundation
import Testing

@Suite("The refusal table through Apache", .serialized, .enabled(if: E2E.isConfigured))
final class RefusalTableTests {
    let folder: String

    init() throws {
        folder = try temporaryFolder()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A certificate (and, as the caller needs, a device row) for `caller`; returns the MAC and the credentials.
    func make(_ caller: RefusalCaller) throws -> (mac: String, credentials: ClientCertificate) {
        if caller == .generic {
            try runChecked(E2E.pkiScript, ["generic", folder, "generic", "--ca", E2E.serverPKI])
            return ("ciscogeneric", ClientCertificate(certificate: folder + "/generic.pem", key: folder + "/generic.key"))
        }
        let phone = try Phone.make(in: folder, form: .ouls, model: "CP-8841-3PCC")
        switch caller {
        case .known: try phone.register()
        case .unknown: break
        case .disabled: try phone.register(["--disabled"])
        case .otherSerial: try provctl(["device", "add", phone.mac, "--serial", "FCHOTHER", "--model", phone.model])
        case .otherModel: try provctl(["device", "add", phone.mac, "--serial", phone.serial, "--model", "CP-7841-3PCC"])
        case .generic: break
        }
        return (phone.mac, phone.credentials)
    }

    @Test("every refusal of the table", arguments: refusalCases)
    func refusal(_ refusal: RefusalCase) throws {
        let (mac, credentials) = try make(refusal.caller)
        let answer = try fetch("/cgi-bin/profile/" + refusal.file(mac: mac), as: credentials, method: refusal.method)
        #expect(answer.exitCode == 0, "curl: \(answer.curlError)")
        #expect(answer.status == refusal.status, "\(answer.text)")
        #expect(answer.text == refusal.reason + "\n")
    }
}
