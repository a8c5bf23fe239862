// A phone's report (Report_Rule) POSTed through the real Apache, with its certificate, gzipped and encrypted as
// `[--key ...]` makes the phone send it; read back by provctl drift.
import Foundation
import Testing

@Suite("Reports through Apache with mutual TLS", .serialized, .enabled(if: E2E.isConfigured))
final class ReportEndToEndTests {
    let folder: String

    init() throws { folder = try temporaryFolder() }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    @Test("POST …/report/$MA.cfg (gzip + openssl enc) is stored; drift reads it; a POST elsewhere is 405")
    func report() throws {
        let phone = try Phone.make(in: folder, form: .ouls, model: "CP-8841-3PCC")
        try phone.register(["--encrypt", "aes-256-cbc", "--key", "e2e report key", "--kdf", "sha256"])
        try provctl(["set", "device:\(phone.mac)", "Display_Name_1_=Reception", "Password_1_=e2e-line-pw"])
        let xml = """
            <flat-profile>
              <Display_Name_1_ ua="na">Lobby</Display_Name_1_>
              <Password_1_ ua="na">e2e-line-pw</Password_1_>
            </flat-profile>

            """
        let plain = folder + "/report.xml"
        try xml.write(toFile: plain, atomically: true, encoding: .utf8)
        let gz = try runChecked("gzip", ["-c", plain])
        let gzFile = folder + "/report.xml.gz"
        try gz.write(to: URL(fileURLWithPath: gzFile))
        let encrypted = folder + "/report.cfg"
        try runChecked("openssl", ["enc", "-e", "-aes-256-cbc", "-md", "sha256", "-k", "e2e report key", "-in", gzFile, "-out", encrypted])

        let answer = try fetch("/cgi-bin/profile/report/\(phone.mac).cfg", as: phone.credentials, method: "POST",
                               headers: ["Content-Type: application/octet-stream"], options: ["--data-binary", "@" + encrypted])
        #expect(answer.exitCode == 0, "curl: \(answer.curlError)")
        #expect(answer.status == 200 && answer.text == "report stored\n", "\(answer.text)")
        #expect(try journal("SELECT encoding FROM reports WHERE mac = '\(phone.mac)'", awaiting: "cfg+gz") == "cfg+gz")
        let drifted = try run(try E2E.provctl, ["--db", E2E.database, "drift", phone.mac, "--json"])
        #expect(drifted.status == 5, "done, with findings: \(drifted.stderr)")
        let drift = String(decoding: drifted.stdout, as: UTF8.self)
        #expect(drift.contains("\"name\": \"Display_Name_1_\"") && drift.contains("Lobby"))
        #expect(!drift.contains("Password_1_") && !drift.contains("e2e-line-pw"), "the same secret: no drift, never printed")

        let elsewhere = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials, method: "POST",
                                  options: ["--data-binary", "@" + plain])
        #expect(elsewhere.status == 405 && elsewhere.header("Allow") == "GET, HEAD")
        // Without a certificate the TLS handshake fails before anything is posted.
        let anonymous = try fetch("/cgi-bin/profile/report/\(phone.mac).xml", as: nil, method: "POST", options: ["--data-binary", "@" + plain])
        #expect(anonymous.exitCode != 0 || anonymous.status == 403)
    }
}
