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
        case .withAccount:
            try phone.register()
            // The account's user is per phone here: the server's database is shared by the whole run.
            _ = try runChecked(try E2E.provctl, ["--db", E2E.database, "device", "edit", phone.mac, "--account",
                                                 refusalAccount.user + "-" + phone.mac, "--password-stdin"],
                               input: Data((refusalAccount.password + "\n").utf8))
        case .bootstrapCfg:
            try phone.register(["--encrypt", "aes-256-cbc", "--key", "bootstrap key 0123456789", "--kdf", "sha256"])
            try provctl(["device", "edit", phone.mac, "--bootstrap", "cfg"])
        case .unrenderable:
            try phone.register()
            try provctl(["set", "device:\(phone.mac)", "GPP_A={{nosuch}}", "--force"])
        }
        return (phone.mac, phone.credentials)
    }

    /// One case per refusal of the catalogue (TestSupport's table); a case that cannot be provoked through Apache
    /// says why in the output. Status, one-line body and the catalogue's headers.
    @Test("every refusal of the catalogue", arguments: refusalCases)
    func refusal(_ refusal: RefusalCase) throws {
        if skipNote(refusal, at: .apache) != nil { return }
        let (mac, credentials) = try make(refusal.caller)
        var options: [String] = []
        if let (user, password) = refusal.credentials {
            options += ["--basic", "-u", "\(user)-\(mac):\(password)"]
        }
        if let body = refusal.body {
            let file = folder + "/body"
            try Data(body).write(to: URL(fileURLWithPath: file))
            options += ["--data-binary", "@" + file, "-H", "Content-Type: application/octet-stream"]
        }
        let answer = try fetch("/cgi-bin/profile/" + refusal.file(mac: mac), as: refusal.certificate == .none ? nil : credentials,
                               method: refusal.method, options: options)
        #expect(answer.exitCode == 0, "curl: \(answer.curlError)")
        #expect(answer.status == refusal.status, "\(answer.text)")
        #expect(answer.text == refusal.reason + "\n")
        #expect(refusal.kind?.headerProblems(answer.headers) == [])
    }
}
