// Through the real Apache of `apache/serve` (mod_ssl, mod_cgid, the shipped apache/provisioner.conf) with real
// TLS handshakes and real client certificates; every answer judged by curl, xmllint, gzip, openssl and sqlite3.
//
// Enabled when PROVISIONER_E2E_STATE (apache/serve's state folder) and PROVISIONER_E2E_PORT are set, as
// Tests/run does:  apache/serve --state DIR --port P  then
//                  PROVISIONER_E2E_STATE=DIR PROVISIONER_E2E_PORT=P swift test --filter EndToEndTests
// Under CI (env CI set) their absence is a failure.
import Foundation
import Testing

@Suite("Without a server")
struct EndToEndConfiguration {
    @Test("the server is configured, or this is not CI")
    func configured() {
        if E2E.isCI {
            #expect(E2E.isConfigured, "CI is set but PROVISIONER_E2E_STATE and PROVISIONER_E2E_PORT are not: the end-to-end tests did not run")
        }
    }
}

@Suite("Through Apache with mutual TLS", .serialized, .enabled(if: E2E.isConfigured))
final class EndToEndTests {
    let folder: String

    init() throws {
        folder = try temporaryFolder()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A phone with its certificate and a device row, and values at device scope only it gets.
    func registeredPhone(form: Phone.Form = .ouls, model: String = "CP-8841-3PCC", options: [String] = []) throws -> (Phone, userID: String) {
        let phone = try Phone.make(in: folder, form: form, model: model)
        try phone.register(options)
        let userID = "u" + randomHex(4)
        try provctl(["var", "device:\(phone.mac)", "e2e_user=\(userID)"])
        try provctl(["set", "device:\(phone.mac)", "User_ID_1_={{e2e_user}}", "Display_Name_1_=E2E {{mac_upper}}"])
        return (phone, userID)
    }

    // MARK: - Each phone its own profile

    @Test("each phone gets its own profile, in both certificate subject forms")
    func ownProfiles() throws {
        let (a, userA) = try registeredPhone(form: .ouls, model: "CP-8841-3PCC")
        let (b, userB) = try registeredPhone(form: .cn, model: "CP-8861")
        for (phone, user, other) in [(a, userA, userB), (b, userB, userA)] {
            let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
            #expect(answer.exitCode == 0, "curl: \(answer.curlError)")
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.header("Content-Type")?.hasPrefix("text/xml") == true)
            // ap_trust_cgilike_cl in the snippet: Apache passes the CGI's exact length instead of chunking.
            #expect(answer.header("Content-Length") == String(answer.body.count))
            #expect(answer.header("Transfer-Encoding") == nil)
            #expect(answer.header("Cache-Control") == "no-store")
            #expect(try isWellFormedXML(answer.body), "xmllint rejects: \(answer.text)")
            #expect(try xpath(answer.body, "/flat-profile/User_ID_1_") == user)
            #expect(try xpath(answer.body, "/flat-profile/Display_Name_1_") == "E2E " + phone.mac.uppercased())
            #expect(!answer.text.contains(other))
        }
    }

    @Test("the profile is byte for byte what provctl render previews")
    func sameAsRender() throws {
        let (phone, _) = try registeredPhone(form: .ouls)
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
        #expect(answer.status == 200)
        let preview = try provctl(["render", phone.mac])
        #expect(answer.body == preview)
    }

    @Test("the alias takes a factory-style name: /prov/CP-8841-3PCC.xml")
    func alias() throws {
        let (phone, user) = try registeredPhone(model: "CP-8841-3PCC")
        let byAlias = try fetch("/prov/CP-8841-3PCC.xml", as: phone.credentials)
        #expect(byAlias.status == 200, "\(byAlias.text)")
        #expect(try xpath(byAlias.body, "/flat-profile/User_ID_1_") == user)
        let byMAC = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
        #expect(byAlias.body == byMAC.body)
        let aliasByMAC = try fetch("/prov/\(phone.mac.uppercased()).xml", as: phone.credentials)
        #expect(aliasByMAC.body == byMAC.body)
    }

    @Test("curl over TLS 1.2 and over TLS 1.3 gets the profile (the certificate from the first handshake)")
    func tlsVersions() throws {
        let (phone, user) = try registeredPhone()
        for options in [["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]] {
            let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials, options: options)
            #expect(answer.exitCode == 0, "\(options): \(answer.curlError)")
            #expect(answer.status == 200, "\(options)")
            #expect(try xpath(answer.body, "/flat-profile/User_ID_1_") == user, "\(options)")
        }
    }

    // MARK: - Refusals

    @Test("phone A asking for phone B's MAC: 403")
    func otherMAC() throws {
        let (a, _) = try registeredPhone()
        let (b, userB) = try registeredPhone()
        for path in ["/cgi-bin/profile/\(b.mac).xml", "/prov/\(b.mac.uppercased()).cfg", "/prov/spa\(b.mac).xml"] {
            let answer = try fetch(path, as: a.credentials)
            #expect(answer.status == 403, "\(path)")
            #expect(answer.text == "MAC mismatch\n", "\(path)")
            #expect(!answer.text.contains(userB))
        }
    }

    @Test("no client certificate (SSLVerifyClient optional): the handshake succeeds; 403 for a device without an account")
    func noCertificate() throws {
        let (phone, user) = try registeredPhone()
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: nil)
        #expect(answer.exitCode == 0, "curl: \(answer.curlError)")
        #expect(answer.status == 403)
        #expect(answer.text == "certificate not verified\n")
        #expect(!answer.text.contains(user))
    }

    @Test("a certificate from another CA, for a registered phone: the handshake fails")
    func otherCA() throws {
        let otherCA = folder + "/other-ca"
        try runChecked(E2E.pkiScript, ["ca", otherCA, "--name", "Not The Phone Client Root"])
        let impostor = try Phone.make(in: otherCA, form: .ouls, model: "CP-8841-3PCC", caFolder: otherCA)
        try impostor.register()
        let answer = try fetch("/cgi-bin/profile/\(impostor.mac).xml", as: impostor.credentials)
        #expect(answer.exitCode != 0, "curl succeeded with another CA's certificate: status \(answer.status)")
        #expect(answer.body.isEmpty)
        // The same subject signed by the trusted CA is served: only the issuer made the difference.
        let name = "reissued-" + impostor.mac
        try runChecked(E2E.pkiScript, ["phone", folder, name, "--ca", E2E.serverPKI, "--form", "ouls",
                                       "--mac", impostor.mac, "--serial", impostor.serial, "--model", impostor.model])
        let reissued = ClientCertificate(certificate: "\(folder)/\(name).pem", key: "\(folder)/\(name).key")
        let served = try fetch("/cgi-bin/profile/\(impostor.mac).xml", as: reissued)
        #expect(served.status == 200)
    }

    @Test("the generic ciscogeneric certificate: 403")
    func genericCertificate() throws {
        try runChecked(E2E.pkiScript, ["generic", folder, "generic", "--ca", E2E.serverPKI])
        let generic = ClientCertificate(certificate: folder + "/generic.pem", key: folder + "/generic.key")
        for path in ["/cgi-bin/profile/000e08abcdef.xml", "/prov/CP-8841-3PCC.xml"] {
            let answer = try fetch(path, as: generic)
            #expect(answer.exitCode == 0)
            #expect(answer.status == 403, "\(path)")
            #expect(answer.text == "generic certificate\n")
        }
    }

    @Test("an unknown phone: 404, and it is listed as a claim")
    func unknownPhone() throws {
        let stranger = try Phone.make(in: folder, form: .ouls, model: "CP-7841-3PCC")
        let answer = try fetch("/prov/\(stranger.mac).xml", as: stranger.credentials,
                               headers: ["User-Agent: Cisco-CP-7841-3PCC/11.3.7 (\(stranger.mac))"])
        #expect(answer.status == 404)
        #expect(answer.text == "unknown device\n")
        let claim = "SELECT serial || '|' || model || '|' || count FROM claims WHERE mac = '\(stranger.mac)'"
        #expect(try journal(claim, awaiting: "\(stranger.serial)|CP-7841-3PCC|1") == "\(stranger.serial)|CP-7841-3PCC|1")
        #expect(try journal("SELECT user_agent FROM claims WHERE mac = '\(stranger.mac)'",
                            awaiting: "Cisco-CP-7841-3PCC/11.3.7 (\(stranger.mac))")
                == "Cisco-CP-7841-3PCC/11.3.7 (\(stranger.mac))")
        _ = try fetch("/prov/\(stranger.mac).xml", as: stranger.credentials)
        #expect(try journal("SELECT count FROM claims WHERE mac = '\(stranger.mac)'", awaiting: "2") == "2")
        #expect(try sqlite("SELECT count(*) FROM devices WHERE mac = '\(stranger.mac)'") == "0")
    }

    @Test("a disabled device: 403")
    func disabled() throws {
        let (phone, user) = try registeredPhone(options: ["--disabled"])
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
        #expect(answer.status == 403)
        #expect(answer.text == "device disabled\n")
        #expect(!answer.text.contains(user))
    }

    // MARK: - Forms

    @Test(".gz decodes with gzip -d, and Apache adds no Content-Encoding even when asked for gzip")
    func gzipForm() throws {
        let (phone, user) = try registeredPhone(options: ["--gzip"])
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).gz", as: phone.credentials,
                               headers: ["Accept-Encoding: gzip, deflate, br"])
        #expect(answer.status == 200)
        #expect(answer.header("Content-Encoding") == nil)
        #expect(Array(answer.body.prefix(2)) == [0x1f, 0x8b])
        let xml = try #require(try gunzip(answer.body), "gzip -d refuses the body")
        #expect(try isWellFormedXML(xml))
        #expect(try xpath(xml, "/flat-profile/User_ID_1_") == user)
    }

    @Test("plain XML is not compressed by Apache either")
    func noCompression() throws {
        let (phone, user) = try registeredPhone()
        let answer = try fetch("/prov/\(phone.mac).xml", as: phone.credentials, headers: ["Accept-Encoding: gzip"])
        #expect(answer.status == 200)
        #expect(answer.header("Content-Encoding") == nil)
        #expect(try xpath(answer.body, "/flat-profile/User_ID_1_") == user)
    }

    @Test(".cfg decodes with openssl enc -d -aes-256-cbc, with the device's digest", arguments: [
        ("md5", false), ("sha256", false), ("sha256", true), ("md5", true),
    ])
    func encryptedForm(digest: String, gzipFirst: Bool) throws {
        let key = "e2e phrase " + randomHex(6)
        let (phone, user) = try registeredPhone(options: ["--encrypt", "aes-256-cbc", "--key", key, "--kdf", digest]
                                                    + (gzipFirst ? ["--gzip"] : []))
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).cfg", as: phone.credentials)
        #expect(answer.status == 200)
        #expect(answer.header("Content-Encoding") == nil)
        #expect(Array(answer.body.prefix(8)) == Array("Salted__".utf8))
        let decrypted = try #require(try opensslDecrypt(answer.body, key: key, digest: digest),
                                     "openssl enc -d -md \(digest) refuses the body")
        let xml = gzipFirst ? try #require(try gunzip(decrypted), "not gzip inside") : decrypted
        #expect(try isWellFormedXML(xml))
        #expect(try xpath(xml, "/flat-profile/User_ID_1_") == user)
        // The other digest derives another key: openssl refuses, or the result is not the profile.
        let wrong = try opensslDecrypt(answer.body, key: key, digest: digest == "md5" ? "sha256" : "md5")
        #expect(wrong != decrypted)
        // No key in the log line of this request.
        let lines = errorLogLines(containing: "mac=\(phone.mac)")
        #expect(!lines.isEmpty)
        #expect(!lines.contains { $0.contains(key) })
    }

    @Test(".cfg for a device without encryption: 404 with a reason, no plaintext")
    func cfgWithoutKey() throws {
        let (phone, user) = try registeredPhone()
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).cfg", as: phone.credentials)
        #expect(answer.status == 404)
        #expect(answer.text == "no encryption configured\n")
        #expect(!answer.text.contains(user))
    }

    // MARK: - Methods

    @Test("HEAD: the headers of GET, no body")
    func head() throws {
        let (phone, _) = try registeredPhone()
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials, method: "HEAD")
        #expect(answer.exitCode == 0, "\(answer.curlError)")
        #expect(answer.status == 200)
        #expect(answer.header("Content-Type")?.hasPrefix("text/xml") == true)
        #expect(answer.downloaded == 0)
        let refused = try fetch("/cgi-bin/profile/\(phone.mac)0.xml", as: phone.credentials, method: "HEAD")
        #expect(refused.exitCode == 0)
        #expect(refused.downloaded == 0)
    }

    @Test("PUT, POST and DELETE: 405 with Allow: GET, HEAD", arguments: ["PUT", "POST", "DELETE"])
    func otherMethods(method: String) throws {
        let (phone, user) = try registeredPhone()
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials, method: method)
        #expect(answer.status == 405)
        #expect(answer.header("Allow") == "GET, HEAD")
        #expect(!answer.text.contains(user))
    }

    // MARK: - Log

    @Test("each request leaves one profile-cgi line in Apache's error log, without the SIP password")
    func logLine() throws {
        let (phone, _) = try registeredPhone()
        let password = "pw-" + randomHex(8)
        try provctl(["set", "device:\(phone.mac)", "Password_1_=\(password)", "--ua", "na"])
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
        #expect(try xpath(answer.body, "/flat-profile/Password_1_") == password)
        let lines = errorLogLines(containing: "mac=\(phone.mac)")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("profile-cgi: status=200 reason=ok") == true)
        #expect(lines.first?.contains("serial=\(phone.serial)") == true)
        let log = (try? String(contentsOfFile: E2E.errorLog, encoding: .utf8)) ?? ""
        #expect(!log.contains(password))
    }

    // MARK: - reflect.pl parity

    /// GPP_D as the guide's reflector and as we deliver it, for the same certificate. The reflector prints
    /// `OU=..,\nL=..,\nS=..\n` (its fields end in `,\n`); ours is one line, `OU=.., L=.., S=..`, as the device's
    /// setting writes it. Compared field by field: both texts (read by xmllint) split at commas, each field
    /// trimmed of surrounding white space. The phone itself trims only the value's ends, so the line breaks
    /// are the one difference allowed.
    @Test("reflect.pl and the profile show the same GPP_D for the same certificate", arguments: [Phone.Form.ouls, .cn])
    func reflectParity(form: Phone.Form) throws {
        let phone = try Phone.make(in: folder, form: form, model: form == .ouls ? "CP-8841-3PCC" : "CP-8861")
        try phone.register()
        try provctl(["set", "device:\(phone.mac)", "GPP_D=OU={{cert.ou}}, L={{cert.l}}, S={{cert.st}}"])
        let reflected = try fetch("/reflect", as: phone.credentials)
        #expect(reflected.status == 200, "\(reflected.text)")
        #expect(try isWellFormedXML(reflected.body))
        let profile = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
        #expect(profile.status == 200)
        func fields(_ text: String) -> [String] {
            text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let theirs = fields(try xpath(reflected.body, "/flat-profile/GPP_D"))
        let ours = fields(try xpath(profile.body, "/flat-profile/GPP_D"))
        #expect(ours == theirs)
        if form == .ouls {
            #expect(ours == ["OU=\(phone.model)", "L=\(phone.serial)", "S=\(phone.mac)"])
        } else {
            // The CN form has no L or ST; OU is Cisco's CTG. Both sides must agree on exactly that.
            #expect(ours == ["OU=CTG", "L=", "S="])
        }
    }

    // MARK: - The snippet as an admin installs it

    /// apache/debian-layout-check copies Debian's /etc/apache2, enables the snippet with the modules and site its
    /// comments name (Debian's deflate.conf and serve-cgi-bin.conf stay on), runs that Apache on the next port
    /// and stops it by its pid before it exits.
    @Test("the snippet works installed into a copy of Debian's /etc/apache2 layout")
    func debianLayout() throws {
        let port = try #require(E2E.port) + 1
        let finished = try run(E2E.root + "/apache/debian-layout-check", [E2E.stateDirectory, String(port)], timeout: 120)
        #expect(finished.status == 0, "\(finished.text)\n\(finished.error)")
        #expect(finished.text.contains("ok   /cgi-bin/profile/$MA.xml answers 200"))
        #expect(!finished.text.contains("FAIL"))
    }

    // MARK: - The demo of apache/serve

    @Test("the demo phones of apache/serve answer as its printed curl command promises")
    func demo() throws {
        func demoCertificate(_ name: String) -> ClientCertificate {
            ClientCertificate(certificate: "\(E2E.serverPKI)/\(name).pem", key: "\(E2E.serverPKI)/\(name).key")
        }
        let ouls = try fetch("/cgi-bin/profile/000e08abcdef.xml", as: demoCertificate("demo-8841"))
        #expect(ouls.status == 200)
        #expect(try isWellFormedXML(ouls.body))
        #expect(try xpath(ouls.body, "/flat-profile/GPP_D") == "OU=CP-8841-3PCC, L=88012BA01234, S=000e08abcdef")
        let cn = try fetch("/prov/CP-8861.xml", as: demoCertificate("demo-8861"))
        #expect(cn.status == 200)
        #expect(try xpath(cn.body, "/flat-profile/Station_Name") == "CP-8861-2C3124C9F8E1")
        let md5 = try fetch("/cgi-bin/profile/0c1167a2b3c4.cfg", as: demoCertificate("demo-6841-md5"))
        let md5XML = try #require(try opensslDecrypt(md5.body, key: "demo md5 key", digest: "md5"))
        #expect(try isWellFormedXML(md5XML))
        let sha = try fetch("/cgi-bin/profile/5c5015d1e2f3.cfg", as: demoCertificate("demo-8851-sha256"))
        let shaGzip = try #require(try opensslDecrypt(sha.body, key: "demo sha256 key", digest: "sha256"))
        let shaXML = try #require(try gunzip(shaGzip))
        #expect(try isWellFormedXML(shaXML))
        let disabled = try fetch("/cgi-bin/profile/000e08000001.xml", as: demoCertificate("demo-disabled"))
        #expect(disabled.status == 403)
    }
}
