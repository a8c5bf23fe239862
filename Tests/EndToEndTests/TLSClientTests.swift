// The phones' TLS, through the real Apache of `apache/serve` (either mode), with openssl's own client as the peer:
// the certificate is asked for in the first handshake (a TLS 1.2 client that refuses renegotiation and a TLS 1.3
// client without post-handshake auth both get their profile), the suites the phones' logs show are accepted with
// ECDHE-GCM preferred, and TRACE is refused (issue 10 point 5; FACTS.md §8).
import Foundation
import Testing

/// What `openssl s_client -brief` reported, and the HTTP answer it printed.
struct HandshakeExchange {
    var exitCode: Int32
    /// "Protocol version: TLSv1.2" from stderr (nil when the handshake failed).
    var protocolVersion: String?
    /// "Ciphersuite: ..." from stderr.
    var cipher: String?
    var statusLine: String
    var body: String
    var stderr: String
}

/// Sends one `GET path` (Connection: close) with `openssl s_client`, presenting `client`, with extra s_client
/// `options` (the protocol, the suites, -no_renegotiation). The server's certificate is verified against the
/// test CA, so a handshake with the wrong server fails too.
func opensslGet(_ path: String, as client: ClientCertificate?, options: [String], method: String = "GET") throws -> HandshakeExchange {
    var arguments = ["s_client", "-connect", "127.0.0.1:\(E2E.port ?? 0)", "-servername", "localhost",
                     "-CAfile", E2E.caCertificate, "-verify_return_error", "-brief", "-ign_eof"]
    if let client { arguments += ["-cert", client.certificate, "-key", client.key] }
    arguments += options
    let request = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: openssl-s_client-e2e\r\nConnection: close\r\n\r\n"
    let finished = try run("openssl", arguments, input: Data(request.utf8), timeout: 30)
    func value(_ label: String) -> String? {
        finished.error.split(separator: "\n").first { $0.hasPrefix(label) }
            .map { $0.dropFirst(label.count).trimmingCharacters(in: .whitespaces) }
    }
    let text = finished.text
    let parts = text.components(separatedBy: "\r\n\r\n")
    let statusLine = parts.first?.components(separatedBy: "\r\n").first ?? ""
    return HandshakeExchange(exitCode: finished.status, protocolVersion: value("Protocol version:"),
                             cipher: value("Ciphersuite:"), statusLine: statusLine,
                             body: parts.dropFirst().joined(separator: "\r\n\r\n"), stderr: finished.error)
}

@Suite("The phones' TLS through Apache", .serialized, .enabled(if: E2E.isConfigured))
final class TLSClientTests {
    let folder: String

    init() throws {
        folder = try temporaryFolder()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A registered phone whose profile carries a value only it gets.
    func phone() throws -> (Phone, userID: String) {
        let phone = try Phone.make(in: folder, form: .ouls, model: "CP-8841-3PCC")
        try phone.register()
        let userID = "tls" + randomHex(4)
        try provctl(["set", "device:\(phone.mac)", "User_ID_1_=\(userID)"])
        return (phone, userID)
    }

    @Test("a TLS 1.2 client that refuses renegotiation gets its profile (certificate in the first handshake)")
    func tls12WithoutRenegotiation() throws {
        let (phone, user) = try phone()
        let answer = try opensslGet("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials,
                                    options: ["-tls1_2", "-no_renegotiation"])
        #expect(answer.exitCode == 0, "\(answer.stderr)")
        #expect(answer.protocolVersion == "TLSv1.2")
        #expect(answer.statusLine == "HTTP/1.1 200 OK", "\(answer.stderr)")
        #expect(answer.body.contains(">\(user)</User_ID_1_>"))
    }

    @Test("a TLS 1.3 client without post-handshake auth gets its profile")
    func tls13WithoutPostHandshakeAuth() throws {
        let (phone, user) = try phone()
        // s_client offers post-handshake auth only with -enable_pha, which is not given.
        let answer = try opensslGet("/prov/\(phone.mac).xml", as: phone.credentials, options: ["-tls1_3"])
        #expect(answer.exitCode == 0, "\(answer.stderr)")
        #expect(answer.protocolVersion == "TLSv1.3")
        #expect(answer.statusLine == "HTTP/1.1 200 OK", "\(answer.stderr)")
        #expect(answer.body.contains(">\(user)</User_ID_1_>"))
    }

    /// The suites a CP-8861 offers, in its order (its log, FACTS.md §8), best to worst; the last two are the ones
    /// an old phone may fall back to. DES-CBC3-SHA is left out: this OpenSSL no longer offers it at all.
    static let phoneSuites = ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-SHA384",
                              "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-SHA",
                              "AES256-GCM-SHA384", "AES128-GCM-SHA256", "AES256-SHA256", "AES128-SHA256",
                              "AES256-SHA", "AES128-SHA"]

    @Test("each suite a phone's log shows is accepted over TLS 1.2, and serves the profile", arguments: phoneSuites)
    func phoneSuite(_ suite: String) throws {
        let (phone, user) = try phone()
        let answer = try opensslGet("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials,
                                    options: ["-tls1_2", "-no_renegotiation", "-cipher", suite])
        #expect(answer.exitCode == 0, "\(suite): \(answer.stderr)")
        #expect(answer.cipher == suite)
        #expect(answer.statusLine == "HTTP/1.1 200 OK", "\(suite)")
        #expect(answer.body.contains(">\(user)</User_ID_1_>"), "\(suite)")
    }

    @Test("the server's order wins: ECDHE with AES-GCM whenever the client offers it, even listed last")
    func serverPrefersECDHEGCM() throws {
        let (phone, _) = try phone()
        let all = try opensslGet("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials,
                                 options: ["-tls1_2", "-cipher", Self.phoneSuites.joined(separator: ":")])
        #expect(all.cipher == "ECDHE-RSA-AES256-GCM-SHA384")
        let reversed = try opensslGet("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials,
                                      options: ["-tls1_2", "-cipher", Self.phoneSuites.reversed().joined(separator: ":")])
        #expect(reversed.cipher == "ECDHE-RSA-AES256-GCM-SHA384")
        #expect(reversed.statusLine == "HTTP/1.1 200 OK")
    }

    @Test("what no phone needs is refused: anonymous suites, TLS 1.1")
    func weakRefused() throws {
        let (phone, _) = try phone()
        for options in [["-tls1_2", "-cipher", "ADH-AES128-SHA:@SECLEVEL=0"], ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]] {
            let answer = try opensslGet("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials, options: options)
            #expect(answer.exitCode != 0, "\(options) was accepted: \(answer.protocolVersion ?? "-") \(answer.cipher ?? "-")")
            #expect(answer.statusLine.isEmpty)
        }
    }

    @Test("TRACE is refused and echoes nothing, with or without a certificate")
    func traceRefused() throws {
        let (phone, _) = try phone()
        for path in ["/", "/cgi-bin/profile/\(phone.mac).xml"] {
            let answer = try opensslGet(path, as: phone.credentials, options: [], method: "TRACE")
            #expect(answer.statusLine == "HTTP/1.1 405 Method Not Allowed", "\(path)")
            #expect(!answer.body.contains("openssl-s_client-e2e"), "TRACE echoed the request: \(answer.body)")
        }
        let anonymous = try opensslGet("/", as: nil, options: [], method: "TRACE")
        #expect(anonymous.statusLine == "HTTP/1.1 405 Method Not Allowed", "\(anonymous.statusLine)")
        #expect(!anonymous.body.contains("openssl-s_client-e2e"))
    }

    @Test("a TLS 1.2 client without a certificate completes the handshake and is answered at its lower trust")
    func noCertificateTLS12() throws {
        let answer = try opensslGet("/cgi-bin/profile/000e08abcdef.xml", as: nil, options: ["-tls1_2", "-no_renegotiation"])
        #expect(answer.statusLine == "HTTP/1.1 401 Unauthorized" || answer.statusLine == "HTTP/1.1 403 Forbidden",
                "\(answer.statusLine)")
    }
}

@Suite("The shipped site files")
struct SiteFileTests {
    /// The lines between the TLS markers of a site file.
    static func tlsBlock(_ file: String) throws -> [Substring] {
        let text = try String(contentsOfFile: E2E.root + "/apache/" + file, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.contains("# --- The phones' TLS") }, "\(file): no TLS block")
        let end = try #require(lines.firstIndex { $0.contains("# --- end of the phones' TLS ---") }, "\(file): no end")
        return Array(lines[start...end])
    }

    @Test("the CGI and the FastCGI site ask the same TLS of a phone, at the virtual-host level")
    func sameTLS() throws {
        let cgi = try Self.tlsBlock("provisioner.conf")
        let fastcgi = try Self.tlsBlock("provisioner-fastcgi.conf")
        #expect(cgi == fastcgi)
        #expect(cgi.contains { $0.trimmingCharacters(in: .whitespaces) == "SSLVerifyClient optional" })
        #expect(cgi.contains { $0.trimmingCharacters(in: .whitespaces) == "TraceEnable off" })
        for file in ["provisioner.conf", "provisioner-fastcgi.conf"] {
            let text = try String(contentsOfFile: E2E.root + "/apache/" + file, encoding: .utf8)
            // Exactly one SSLVerifyClient, so switching to `optional` is one line; never optional_no_ca.
            let verify = text.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("SSLVerifyClient") }
            #expect(verify.count == 1, "\(file)")
            #expect(!verify.contains { $0.contains("optional_no_ca") }, "\(file)")
        }
    }
}
