import Foundation
@testable import Provisioning
@testable import ProvisioningAdmin
import Testing

/// Accounts (Basic and Digest over HTTPS) and trust levels, through profile-cgi as a process.
@Suite("Accounts and trust levels")
struct TrustTests {
    let cgi = builtProduct("profile-cgi")
    static let user = "phone-0001"
    static let password = "correct horse battery"

    // RFC 2617 §3.5's example: Mufasa / "Circle Of Life" in realm testrealm@host.com.
    @Test func rfc2617DigestExample() throws {
        let header = """
            Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", \
            uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", \
            response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"
            """
        guard case .digest(let digest)? = HTTPAuthorization(header) else { Issue.record("not parsed"); return }
        #expect(digest.user == "Mufasa" && digest.uri == "/dir/index.html" && digest.nc == "00000001")
        let ha1 = AccountCheck.ha1(user: "Mufasa", realm: "testrealm@host.com", password: "Circle Of Life")
        #expect(digest.expected(ha1: ha1, method: "GET") == "6629fae49393a05397450978507c4ef1")
        // RFC 7617 §2's Basic example: Aladdin / open sesame.
        #expect(HTTPAuthorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == .basic(user: "Aladdin", password: "open sesame"))
        #expect(HTTPAuthorization("Bearer abc") == nil)
    }

    @Test func noncesAreSignedAndExpire() {
        let key = Array("k".utf8)
        let nonce = AccountCheck.nonce(key: key, time: 1_000_000, address: "192.0.2.10")
        #expect(nonce != AccountCheck.nonce(key: key, time: 1_000_000, address: "192.0.2.10"), "two challenges in one second differ")
        #expect(AccountCheck.check(nonce: nonce, key: key, now: 1_000_100, address: "192.0.2.10") == .fresh(issued: 1_000_000))
        #expect(AccountCheck.check(nonce: nonce, key: key, now: 1_000_400, address: "192.0.2.10") == .stale)
        #expect(AccountCheck.check(nonce: nonce, key: key, now: 1_000_100, address: "192.0.2.11") == .forged)
        #expect(AccountCheck.check(nonce: nonce, key: Array("other".utf8), now: 1_000_100, address: "192.0.2.10") == .forged)
    }

    @Test func ruleSecretsAreRemoved() {
        #expect(Secrets.removingRuleSecrets("[--key \"a phrase\"] http://p.example.com/$MA.cfg") == "http://p.example.com/$MA.cfg")
        #expect(Secrets.removingRuleSecrets("[--uid u1 --pwd p1] https://p.example.com/$MA.xml") == "[--uid u1] https://p.example.com/$MA.xml")
        #expect(Secrets.removingRuleSecrets("( $A == 1 )? [--key k] https://x/a.cfg | https://x/b.xml")
                == "( $A == 1 )? https://x/a.cfg | https://x/b.xml")
        #expect(Secrets.removingRuleSecrets("https://x/$MA.xml") == "https://x/$MA.xml")
    }

    // MARK: - Through the CGI

    func world(bootstrap: BootstrapPolicy = .none, encryption: Encryption = .none,
               settings: [Setting] = [], in directory: TemporaryDirectory) throws -> String {
        let account = DeviceAccount(user: Self.user, realm: "provisioner",
                                    ha1: AccountCheck.ha1(user: Self.user, realm: "provisioner", password: Self.password))
        return try makeDatabase(in: directory, devices: [
            Device(mac: phoneMAC, serial: phoneSerial, model: phoneModel, encryption: encryption, account: account, bootstrap: bootstrap),
            Device(mac: MACAddress("000e08000001")!, bootstrap: .profile),
        ], settings: [Setting(scope: .all, name: "Resync_Periodic", value: "3600"),
                      Setting(scope: .all, name: "Password_1_", value: "sip-secret-1")] + settings)
    }

    /// A caller without a certificate: over HTTPS unless `https` is false.
    func anonymous(_ db: String, _ directory: TemporaryDirectory, path: String = "/000e08abcdef.xml",
                   authorization: String? = nil, https: Bool = true, address: String = "192.0.2.10") -> [String: String] {
        var environment = ["PROVISIONER_DB": db, "PROVISIONER_JOURNAL": directory.path("journal.db"),
                           "REQUEST_METHOD": "GET", "PATH_INFO": path, "REQUEST_URI": "/cgi-bin/profile" + path,
                           "REMOTE_ADDR": address, "HTTP_USER_AGENT": "Cisco-CP-8841-3PCC/11.3.7 (000e08abcdef)"]
        if https { environment["HTTPS"] = "on" }
        if let authorization { environment["HTTP_AUTHORIZATION"] = authorization }
        return environment
    }

    func answer(_ environment: [String: String]) throws -> (ParsedCGI, String) {
        let result = try run(cgi, environment: environment)
        #expect(result.status == 0)
        return (try ParsedCGI(Array(result.stdout)), result.stderr)
    }

    func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// The Digest answer a client computes from a challenge.
    func digest(challenge: String, uri: String, nc: Int, password: String = password) throws -> String {
        let nonce = try #require(challenge.split(separator: "nonce=\"").dropFirst().first?.split(separator: "\"").first)
        let ha1 = AccountCheck.ha1(user: Self.user, realm: "provisioner", password: password)
        let ha2 = Digest.md5Hex(Array("GET:\(uri)".utf8))
        let count = String(format: "%08x", nc)
        let response = Digest.md5Hex(Array("\(ha1):\(nonce):\(count):c0ffee:auth:\(ha2)".utf8))
        return "Digest username=\"\(Self.user)\", realm=\"provisioner\", nonce=\"\(nonce)\", uri=\"\(uri)\", "
            + "qop=auth, nc=\(count), cnonce=\"c0ffee\", response=\"\(response)\", algorithm=MD5"
    }

    @Test func basicOverHTTPSGetsTheFullProfile() throws {
        let directory = try TemporaryDirectory()
        let db = try world(in: directory)
        let (challenge, _) = try answer(anonymous(db, directory))
        #expect(challenge.status == 401)
        #expect(challenge.headers["WWW-Authenticate"]?.hasPrefix("Digest realm=\"provisioner\", qop=\"auth\"") == true)
        let (ok, log) = try answer(anonymous(db, directory, authorization: basic(Self.user, Self.password)))
        #expect(ok.status == 200)
        #expect(String(decoding: ok.body, as: UTF8.self).contains("<Password_1_>sip-secret-1</Password_1_>"))
        #expect(log.contains("auth=account") && log.contains("mac=000e08abcdef") && !log.contains(Self.password))
        // Over plain HTTP the same credentials are never looked at.
        let (plain, _) = try answer(anonymous(db, directory, authorization: basic(Self.user, Self.password), https: false))
        #expect(plain.status == 403)
        // An account cannot fetch another device's profile.
        let (other, _) = try answer(anonymous(db, directory, path: "/000e08000001.xml", authorization: basic(Self.user, Self.password)))
        #expect(other.status == 403)
    }

    /// A SPA525G or ATA191 names only its serial (FACTS §2): the serial finds the device wherever a MAC would.
    @Test func aSerialInTheUserAgentFindsTheDevice() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [
            Device(mac: MACAddress("000e08000002")!, serial: "CBT141900G7", model: "SPA525G", bootstrap: .profile),
            Device(mac: MACAddress("000e08000003")!, serial: "FCH2443D9R4", model: "ATA191",
                   account: DeviceAccount(user: "ata", realm: "provisioner",
                                          ha1: AccountCheck.ha1(user: "ata", realm: "provisioner", password: "pw"))),
            Device(mac: MACAddress("000e08000004")!, serial: "TWIN", bootstrap: .profile),
            Device(mac: MACAddress("000e08000005")!, serial: "TWIN", bootstrap: .profile),
        ], settings: [Setting(scope: .all, name: "Resync_Periodic", value: "3600")])
        func asking(_ agent: String, https: Bool = false) -> [String: String] {
            var environment = anonymous(db, directory, path: "/spa525G.xml", https: https)
            environment["HTTP_USER_AGENT"] = agent
            return environment
        }
        // Bootstrap: the factory rule's file names no MAC; the agent's serial names the device.
        let (served, log) = try answer(asking("Cisco/SPA525G-7.4.7 (CBT141900G7)"))
        #expect(served.status == 200, "\(log)")
        #expect(log.contains("mac=000e08000002") && log.contains("auth=bootstrap"))
        // The SPA112's own brackets are not its identifier: its MAC (the last group) is.
        let (spa112, _) = try answer(asking("Cisco/SPA112-1.4.1(SR5) (000E08000002)"))
        #expect(spa112.status == 200)
        // The account challenge: an ATA191 naming only its serial is asked for its credentials over HTTPS.
        let (challenge, _) = try answer(asking("Cisco/ATA191-MPP-11-1-0-MSR4 (FCH2443D9R4)", https: true))
        #expect(challenge.status == 401)
        // A serial two devices share, or no device's serial, names none: the certificate's refusal stands.
        #expect(try answer(asking("Cisco/SPA525G-7.4.7 (TWIN)")).0.status == 403)
        #expect(try answer(asking("Cisco/SPA525G-7.4.7 (NOSUCHSERIAL)")).0.status == 403)
    }

    @Test func digestWorksOnceperCount() throws {
        let directory = try TemporaryDirectory()
        let db = try world(in: directory)
        let (challenge, _) = try answer(anonymous(db, directory))
        let wwwAuthenticate = try #require(challenge.headers["WWW-Authenticate"])
        let uri = "/cgi-bin/profile/000e08abcdef.xml"
        let first = try digest(challenge: wwwAuthenticate, uri: uri, nc: 1)
        let (ok, _) = try answer(anonymous(db, directory, authorization: first))
        #expect(ok.status == 200)
        let (replayed, log) = try answer(anonymous(db, directory, authorization: first))
        #expect(replayed.status == 401, "a captured answer cannot be replayed")
        #expect(log.contains("replayed"))
        let (next, _) = try answer(anonymous(db, directory, authorization: try digest(challenge: wwwAuthenticate, uri: uri, nc: 2)))
        #expect(next.status == 200)
        let (wrongURI, _) = try answer(anonymous(db, directory, path: "/000e08abcdef.cfg",
                                                 authorization: try digest(challenge: wwwAuthenticate, uri: uri, nc: 3)))
        #expect(wrongURI.status == 401)
        let (wrong, _) = try answer(anonymous(db, directory, authorization: try digest(challenge: wwwAuthenticate, uri: uri, nc: 4, password: "nope")))
        #expect(wrong.status == 401)
    }

    @Test func repeatedFailuresFromOneAddressAreSlowedDown() throws {
        let directory = try TemporaryDirectory()
        let db = try world(in: directory)
        for attempt in 1...AuthState.failureLimit {
            let (wrong, _) = try answer(anonymous(db, directory, authorization: basic(Self.user, "guess \(attempt)")))
            #expect(wrong.status == 401)
        }
        let (slowed, log) = try answer(anonymous(db, directory, authorization: basic(Self.user, Self.password)))
        #expect(slowed.status == 429, "even the right password waits: a guesser learns nothing")
        #expect((1...AuthState.backoff(AuthState.failureLimit)).contains(Int(slowed.headers["Retry-After"] ?? "") ?? 0))
        #expect(log.contains("too many failed logins"))
        let (other, _) = try answer(anonymous(db, directory, authorization: basic("nobody-else", "x"), address: "192.0.2.99"))
        #expect(other.status == 401, "other addresses and accounts are not affected")
    }

    /// The brake, with the clock in hand: per account, per address and per pair; back-off grows; a success
    /// clears only its own account; a known phone is not locked out by others' failures from its NAT address.
    @Test func brakesStopAttackersNotPhones() throws {
        let directory = try TemporaryDirectory()
        let state = try AuthState(path: directory.path("auth.db"))
        let nat = "198.51.100.7", now = 2_000_000_000
        #expect(AuthState.backoff(4) == 0 && AuthState.backoff(5) == 4 && AuthState.backoff(6) == 8 && AuthState.backoff(30) == 900)
        // The phone of account "phone-a" has logged in from behind the NAT before.
        try state.recordSuccess(user: "phone-a", address: nat, now: now - 3600)
        // The holder of account "mine" fails at "victim" from the same NAT, and then logs in as "mine".
        for second in 0..<5 { try state.recordFailure(user: "victim", address: nat, now: now + second) }
        try state.recordSuccess(user: "mine", address: nat, now: now + 5)
        // One success did not clear the address: guessing any other unknown account from it waits.
        #expect(try state.retryAfter(user: "victim", address: nat, now: now + 6) != nil)
        #expect(try state.retryAfter(user: "third", address: nat, now: now + 6) != nil, "the address backs off for new names")
        // The phone that logged in before is not locked out by others' failures from its address.
        #expect(try state.retryAfter(user: "phone-a", address: nat, now: now + 6) == nil)
        #expect(try state.retryAfter(user: "mine", address: nat, now: now + 6) == nil)
        // The account guessed backs off elsewhere too (distributed guessing), unless that pair is known.
        #expect(try state.retryAfter(user: "victim", address: "203.0.113.9", now: now + 6) != nil)
        try state.recordSuccess(user: "victim", address: "192.0.2.50", now: now - 7200)
        // (recordSuccess cleared "victim"'s account count: a real login of the account is its own proof.)
        #expect(try state.retryAfter(user: "victim", address: "192.0.2.50", now: now + 6) == nil)
        // Back-off grows with every failure and ends: 4 s, 8 s, ... and nothing after a quiet day.
        for second in 0..<8 { try state.recordFailure(user: "g", address: "192.0.2.77", now: now + second) }
        let wait = try #require(try state.retryAfter(user: "g", address: "192.0.2.77", now: now + 8))
        #expect(wait == AuthState.backoff(8) - 1, "eight failures, the last a second ago: \(wait) s")
        #expect(try state.retryAfter(user: "g", address: "192.0.2.77", now: now + 8 + AuthState.forgetAfter) == nil)
        // Bounded: quiet rows are pruned by the next write.
        try state.recordFailure(user: "h", address: "192.0.2.78", now: now + 2 * AuthState.forgetAfter)
        let rows = try state.database.prepare("SELECT count(*) FROM attempts")
        _ = try rows.step()
        #expect(rows.int(0) == 3, "only the last failure's three keys remain")
    }

    /// A nonce issued by one node is not accepted by another (each keeps its own replay state).
    @Test func noncesAreBoundToTheirNode() throws {
        let directory = try TemporaryDirectory()
        let db = try world(in: directory)
        var onA = anonymous(db, directory)
        onA["PROVISIONER_NODE"] = "node-a"
        let (challenge, _) = try answer(onA)
        let header = try digest(challenge: try #require(challenge.headers["WWW-Authenticate"]),
                                uri: "/cgi-bin/profile/000e08abcdef.xml", nc: 1)
        var onB = anonymous(db, directory, authorization: header)
        onB["PROVISIONER_NODE"] = "node-b"
        onB["PROVISIONER_JOURNAL"] = directory.path("b/journal.db")
        try FileManager.default.createDirectory(atPath: directory.path("b"), withIntermediateDirectories: true)
        let (elsewhere, log) = try answer(onB)
        #expect(elsewhere.status == 401 && log.contains("nonce not issued here"))
        var backOnA = anonymous(db, directory, authorization: header)
        backOnA["PROVISIONER_NODE"] = "node-a"
        let (home, _) = try answer(backOnA)
        #expect(home.status == 200)
    }

    /// A caller that proved nothing writes a fetch row marked untrusted and nothing else: no `seen` row (last
    /// contact, address, firmware); a certificate's fetch is trusted and does.
    @Test func onlyProvenCallersWriteTheRecord() throws {
        let directory = try TemporaryDirectory()
        let db = try world(bootstrap: .profile, in: directory)
        let (bootstrap, _) = try answer(anonymous(db, directory, https: false, address: "203.0.113.66"))
        #expect(bootstrap.status == 200)
        let (refused, _) = try answer(anonymous(db, directory, path: "/000e08abcdef.cfg", https: false, address: "203.0.113.67"))
        #expect(refused.status != 200)
        let journal = try SQLiteDatabase(path: directory.path("journal.db"), mode: .readOnly)
        func count(_ sql: String) throws -> Int {
            let statement = try journal.prepare(sql)
            _ = try statement.step()
            return statement.int(0)
        }
        #expect(try count("SELECT count(*) FROM fetches WHERE trusted = 0 AND mac = '000e08abcdef'") == 2)
        #expect(try count("SELECT count(*) FROM seen") == 0, "a bootstrap caller moves no last contact")
        let (byCertificate, _) = try answer(phoneEnvironment(database: db))
        #expect(byCertificate.status == 200)
        #expect(try count("SELECT count(*) FROM fetches WHERE trusted = 1") == 1)
        #expect(try count("SELECT count(*) FROM seen WHERE remote_addr LIKE '203.0.113.%'") == 0)
        #expect(try count("SELECT count(*) FROM seen") == 1)
    }

    @Test func bootstrapPolicies() throws {
        let directory = try TemporaryDirectory()
        // cfg: only the encrypted file.
        let cfgDB = try world(bootstrap: .cfg, encryption: .aes256cbc(key: "k", digest: .sha256), in: directory)
        let (xml, _) = try answer(anonymous(cfgDB, directory, https: false))
        #expect(xml.status == 403)
        let (cfg, log) = try answer(anonymous(cfgDB, directory, path: "/000e08abcdef.cfg", https: false))
        #expect(cfg.status == 200 && log.contains("auth=bootstrap"))
        let plain = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", "sha256", "-k", "k",
                                        "-in", try write(cfg.body, to: directory.path("b.cfg"))])
        #expect(plain.text.contains("sip-secret-1"), "the .cfg is the whole profile: its key is the phone's proof")
    }

    /// Every secret parameter the catalogue knows, and the `--key`/`--pwd` of rules, at every trust level.
    @Test func everySecretAtEveryLevel() throws {
        var secrets: [Setting] = []
        var names: Set<String> = ["Password_1_", DerivedSettings.ikmName]   // world() sets these: the device row holds the IKM
        for (index, pattern) in ParameterCatalogue.patterns.enumerated() {
            let name = pattern.replacingOccurrences(of: "#", with: "1")
            guard Secrets.isSecret(name), XMLText.isValidName(name), names.insert(name).inserted else { continue }
            secrets.append(Setting(scope: .all, name: name, value: "sv\(index)zq"))
        }
        #expect(secrets.count > 30, "the catalogue's secrets: \(secrets.count)")
        let rules = [Setting(scope: .all, name: "Profile_Rule", value: "[--key rulekey77] http://p.example.com/$MA.cfg"),
                     Setting(scope: .all, name: "Profile_Rule_B", value: "[--uid u1 --pwd rulepwd88] https://p.example.com/$MA-b.xml"),
                     Setting(scope: .all, name: "Profile_Rule_C", value: "https://urluser:urlpass99@p.example.com/$MA-c.xml"),
                     Setting(scope: .group("g"), name: "GPP_A", value: "not secret")]
        let values = secrets.map(\.value) + ["rulekey77", "rulepwd88", "sip-secret-1", "yqdlZ-tYemfogSmv7Ws5PQ", "urlpass99"]
        let directory = try TemporaryDirectory()
        let ikm = Encryption.aes128gcm(ContentEncryptionKey(ikm: "yqdlZ-tYemfogSmv7Ws5PQ"))
        for policy in BootstrapPolicy.allCases {
            let db = try world(bootstrap: policy, encryption: ikm, settings: secrets + rules, in: directory)
            defer { try? FileManager.default.removeItem(atPath: db) }
            // Full trust: certificate, account.
            let (byCertificate, _) = try answer(phoneEnvironment(database: db))
            let (byAccount, _) = try answer(anonymous(db, directory, authorization: basic(Self.user, Self.password)))
            for full in [byCertificate, byAccount] {
                #expect(full.status == 200)
                let text = String(decoding: full.body, as: UTF8.self)
                for value in values { #expect(text.contains(value), "full trust gets \(value)") }
            }
            // Lower levels: every form, over HTTP and HTTPS, a wrong password, the factory name.
            var lower: [[String: String]] = []
            for path in ["/000e08abcdef.xml", "/000e08abcdef.gz", "/CP-8841-3PCC.xml", "/000e08abcdef-b.xml"] {
                lower.append(anonymous(db, directory, path: path, https: false))
                lower.append(anonymous(db, directory, path: path))
                lower.append(anonymous(db, directory, path: path, authorization: basic(Self.user, "wrong"), address: "198.51.100.\(lower.count)"))
            }
            for environment in lower {
                let (low, log) = try answer(environment)
                var body = low.body
                if Gzip.isGzip(body) { body = try Gzip.decompress(body) }
                let text = String(decoding: body, as: UTF8.self)
                for value in values { #expect(!text.contains(value), "\(policy) \(environment["PATH_INFO"] ?? ""): \(value) leaked") }
                for value in values { #expect(!log.contains(value)) }
                if policy == .profile, low.status == 200, environment["PATH_INFO"]!.hasSuffix("abcdef.xml") {
                    #expect(text.contains("<Profile_Rule>http://p.example.com/$MA.cfg</Profile_Rule>"))
                    #expect(text.contains("<Profile_Rule_B>[--uid u1] https://p.example.com/$MA-b.xml</Profile_Rule_B>"))
                    #expect(text.contains("<Resync_Periodic>3600</Resync_Periodic>"))
                }
            }
        }
    }
}
