// Accounts and trust levels through the real Apache (SSLVerifyClient optional, CGIPassAuth On): curl's own
// Digest and Basic implementations as the phone, no certificate.
import Foundation
import Testing

extension EndToEndTests {
    /// A registered phone with an HTTP account; returns it, its User_ID_1_ and the account's user and password.
    func phoneWithAccount(options: [String] = []) throws -> (Phone, userID: String, account: String, password: String) {
        let (phone, userID) = try registeredPhone(options: options)
        let account = "acct-" + phone.mac
        let password = "pw " + randomHex(8)
        _ = try runChecked(try E2E.provctl, ["--db", E2E.database, "device", "edit", phone.mac, "--account", account,
                                             "--password-stdin"], input: Data((password + "\n").utf8))
        try provctl(["set", "device:\(phone.mac)", "Password_1_=sip-\(phone.mac)"])
        return (phone, userID, account, password)
    }

    @Test("no certificate: curl --digest with the device's account gets the full profile; a replayed or wrong answer does not")
    func digestAccount() throws {
        let (phone, userID, account, password) = try phoneWithAccount()
        let path = "/cgi-bin/profile/\(phone.mac).xml"
        let answer = try fetch(path, as: nil, options: ["--digest", "-u", "\(account):\(password)"])
        #expect(answer.status == 200, "\(answer.text)")
        #expect(try xpath(answer.body, "/flat-profile/User_ID_1_") == userID)
        #expect(try xpath(answer.body, "/flat-profile/Password_1_") == "sip-\(phone.mac)")
        let lines = errorLogLines(containing: "mac=\(phone.mac)")
        #expect(lines.contains { $0.contains("status=200") && $0.contains("auth=account") })
        #expect(!lines.contains { $0.contains(password) })
        let basic = try fetch(path, as: nil, options: ["--basic", "-u", "\(account):\(password)"])
        #expect(basic.status == 200)
        // The factory rule's name (/$PSN.xml): the User-Agent's MAC finds the device whose account is challenged.
        let factory = try fetch("/prov/\(phone.model).xml", as: nil, headers: ["User-Agent: Cisco-\(phone.model)/11.3.7 (\(phone.mac))"],
                                options: ["--digest", "-u", "\(account):\(password)"])
        #expect(factory.status == 200, "\(factory.text)")
        #expect(try xpath(factory.body, "/flat-profile/User_ID_1_") == userID)
        let wrong = try fetch(path, as: nil, options: ["--digest", "-u", "\(account):not-it"])
        #expect(wrong.status == 401)
        #expect(!wrong.text.contains(userID))
        // Replay: the Authorization header curl sent, sent again verbatim.
        let trace = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: trace) }
        _ = try fetch(path, as: nil, options: ["--digest", "-u", "\(account):\(password)", "--trace-ascii", trace + "/t"])
        let sent = try String(contentsOfFile: trace + "/t", encoding: .utf8).split(separator: "\n")
            .first { $0.contains("Authorization: Digest") }
        let header = try #require(sent.map { String($0[$0.range(of: "Authorization:")!.lowerBound...]) })
        let replayed = try fetch(path, as: nil, headers: [header])
        #expect(replayed.status == 401, "a captured Digest answer was accepted again")
    }

    @Test("bootstrap: without a certificate or account, the profile with every secret left out")
    func bootstrapProfile() throws {
        let (phone, userID) = try registeredPhone(options: ["--encrypt", "aes-256-cbc", "--key", "boot key"])
        try provctl(["device", "edit", phone.mac, "--bootstrap", "profile"])
        try provctl(["set", "device:\(phone.mac)", "Password_1_=sip-\(phone.mac)", "GPP_SA=gpp-\(phone.mac)",
                     "Profile_Rule=[--key \"boot key\"] https://localhost/cgi-bin/profile/$MA.cfg"])
        let answer = try fetch("/prov/\(phone.mac).xml", as: nil)
        #expect(answer.status == 200, "\(answer.text)")
        #expect(try isWellFormedXML(answer.body))
        #expect(try xpath(answer.body, "/flat-profile/User_ID_1_") == userID)
        #expect(!answer.text.contains("sip-\(phone.mac)") && !answer.text.contains("gpp-\(phone.mac)") && !answer.text.contains("boot key"))
        #expect(try xpath(answer.body, "/flat-profile/Profile_Rule") == "https://localhost/cgi-bin/profile/$MA.cfg")
        // With its certificate the same phone gets everything.
        let full = try fetch("/prov/\(phone.mac).xml", as: phone.credentials)
        #expect(try xpath(full.body, "/flat-profile/Password_1_") == "sip-\(phone.mac)")
    }

    @Test("every User-Agent shape of FACTS §2 through Apache: the last brackets name the device, by its MAC or by its serial")
    func userAgentShapes() throws {
        let (phone, userID) = try registeredPhone()
        try provctl(["device", "edit", phone.mac, "--bootstrap", "profile"])
        let mac = phone.mac.uppercased(), serial = phone.serial
        // The real shapes (IdentityTests.realAgents has each real string and its source), with this phone's MAC
        // and serial in them.
        let agents = [
            "Cisco-\(phone.model)/11.3.7 (\(phone.mac))",
            "Cisco/SPA112-1.4.1(SR5) (\(mac))",
            "Linksys/SPA-942-6.1.5(a) (\(mac))",
            "Cisco/SPA504G-7.4.9c (\(mac))(\(serial))",
            "Cisco/SPA525G-7.4.7 (\(serial))",
            "Cisco/ATA191-MPP-11-1-0-MSR4 (\(serial))",
        ]
        for agent in agents {
            let answer = try fetch("/prov/\(phone.model).xml", as: nil, headers: ["User-Agent: \(agent)"])
            #expect(answer.status == 200, "\(agent): \(answer.text)")
            #expect(try xpath(answer.body, "/flat-profile/User_ID_1_") == userID, "\(agent)")
        }
        // The firmware's own brackets name nothing: without an identifier group the caller stays unknown.
        let unnamed = try fetch("/prov/\(phone.model).xml", as: nil, headers: ["User-Agent: Cisco/SPA112-1.4.1(SR5)"])
        #expect(unnamed.status == 403, "\(unnamed.text)")
    }

    @Test("bootstrap cfg: only the encrypted .cfg, which openssl decrypts with the device's key")
    func bootstrapCfg() throws {
        // A key anyone's download may be guessed against offline must be strong (BootstrapKeyRule).
        let (phone, userID) = try registeredPhone(options: ["--encrypt", "aes-256-cbc", "--key", "cfg boot", "--kdf", "sha256"])
        let weak = try run(try E2E.provctl, ["--db", E2E.database, "device", "edit", phone.mac, "--bootstrap", "cfg"])
        #expect(weak.status != 0 && weak.stderr.contains("at least 22 characters"), "\(weak)")
        let key = "cfg boot " + randomHex(16)
        try provctl(["device", "edit", phone.mac, "--key", key, "--bootstrap", "cfg"])
        let xml = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: nil)
        #expect(xml.status == 403)
        let cfg = try fetch("/cgi-bin/profile/\(phone.mac).cfg", as: nil)
        #expect(cfg.status == 200)
        let plain = try #require(try opensslDecrypt(cfg.body, key: key, digest: "sha256"))
        #expect(try xpath(plain, "/flat-profile/User_ID_1_") == userID)
    }
}
