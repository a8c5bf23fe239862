import Foundation
import Provisioning
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Debian's SIP tester, installed when missing (as Tests/run installs its packages).
func sippProgram() throws -> String {
    if let found = try? which("sipp") { return found }
    let install = try run("/usr/bin/env", ["sh", "-c", "apt-get install -y -qq sip-tester >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq sip-tester)"],
                              environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"])
    guard install.status == 0 else { throw TestFailure("sip-tester could not be installed: \(install)") }
    return try which("sipp")
}

/// A free UDP port on 127.0.0.1.
func freeUDPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("no free UDP port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// sipp playing a phone that answers a NOTIFY with `Event: resync` by a 401 digest challenge, checks the
/// credentials of the retry with sipp's own `verifyauth`, and answers 200 (or 403 when they are wrong).
/// Written for this test (sipp's UAS scenario syntax, sipp 3.6: `verifyauth`); `calls` NOTIFY dialogs.
final class SippPhone {
    let process = Process()
    let port: Int
    let folder: URL
    let messages: URL

    init(user: String, password: String, calls: Int = 1, qop: Bool = false, event: String = "resync", in box: Sandbox) throws {
        let sipp = try sippProgram()
        port = try freeUDPPort()
        folder = box.folder
        messages = box.folder.appendingPathComponent("sipp-\(port)-messages.log")
        let challenge = "WWW-Authenticate: Digest realm=\"phone.test\", nonce=\"4d9a8c2f1e7b\", algorithm=MD5" + (qop ? ", qop=\"auth\", opaque=\"5ccc069c\"" : "")
        func answer(_ status: String) -> String {
            """
              <send>
                <![CDATA[
            SIP/2.0 \(status)
            [last_Via:]
            [last_From:]
            [last_To:];tag=[pid]SIPpTag01[call_number]
            [last_Call-ID:]
            [last_CSeq:]
            \(status.hasPrefix("401") ? challenge + "\n" : "")Content-Length: 0

            ]]>
              </send>
            """
        }
        let scenario = """
            <?xml version="1.0" encoding="ISO-8859-1" ?>
            <scenario name="Cisco phone: resync NOTIFY with digest">
              <recv request="NOTIFY">
                <action>
                  <ereg regexp="^ *\(event) *$" search_in="hdr" header="Event:" check_it="true" assign_to="event"/>
                  <log message="event [$event] from [last_From:]"/>
                </action>
              </recv>
            \(answer("401 Unauthorized"))
              <recv request="NOTIFY">
                <action>
                  <verifyauth assign_to="authvalid" username="\(user)" password="\(password)"/>
                </action>
              </recv>
              <nop hide="true" test="authvalid" next="goodauth"/>
            \(answer("403 Forbidden").replacingOccurrences(of: "  <send>", with: "  <send next=\"end\">"))
              <label id="goodauth"/>
            \(answer("200 OK"))
              <label id="end"/>
            </scenario>
            """
        let file = box.folder.appendingPathComponent("phone-\(port).xml")
        try Data(scenario.utf8).write(to: file)
        process.executableURL = URL(fileURLWithPath: sipp)
        process.arguments = ["-sf", file.path, "-i", "127.0.0.1", "-p", String(port), "-m", String(calls),
                             "-timeout", "30s", "-trace_msg", "-message_file", messages.path, "-nostdin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until it listens.
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8),
               text.contains(String(format: ":%04X ", port)) { break }
            usleep(20_000)
        }
    }

    /// Waits for sipp to end; its status is 0 when every call went through the scenario (the 200 branch counts
    /// as success; a 403 is a call that ended on the failure branch, also 0: look at the messages).
    func finish() -> (status: Int32, messages: String) {
        let deadline = Date().addingTimeInterval(35)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        return (process.terminationStatus, (try? String(contentsOf: messages, encoding: .utf8)) ?? "")
    }
}

@Suite("provctl resync against sipp playing the phone", .serialized)
struct ResyncTests {
    func box() throws -> Sandbox {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "88012BA01234", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("set", "default", "User_ID_1_=1001", "Password_1_=line-secret", "SIP_Port_1_=5060")
        return box
    }

    @Test("NOTIFY Event: resync, 401 answered with the line's digest credentials, 200", arguments: [false, true])
    func digest(qop: Bool) throws {
        let box = try box()
        let phone = try SippPhone(user: "1001", password: "line-secret", qop: qop, in: box)
        let outcome = try box.provctl("resync", "000e08abcdef", "--address", "127.0.0.1:\(phone.port)")
        let (status, messages) = phone.finish()
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.text.contains("ok") && outcome.text.contains("200 OK after 401 challenge"), "\(outcome)")
        #expect(status == 0, "sipp: \(messages)")
        // What sipp received: two NOTIFYs, same Call-ID and From tag, CSeq 1 then 2, two z9hG4bK branches.
        let notifies = messages.components(separatedBy: "NOTIFY sip:1001@127.0.0.1:\(phone.port) SIP/2.0").dropFirst()
        #expect(notifies.count == 2)
        func header(_ name: String, _ text: String) -> String? {
            text.components(separatedBy: .newlines).first { $0.hasPrefix(name + ":") }?.dropFirst(name.count + 1).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let first = String(notifies.first ?? ""), second = String(notifies.last ?? "")
        #expect(header("Event", first) == "resync")
        #expect(header("Call-ID", first) == header("Call-ID", second))
        #expect(header("From", first) == header("From", second))
        #expect(header("CSeq", first) == "1 NOTIFY" && header("CSeq", second) == "2 NOTIFY")
        let branches = [first, second].compactMap { header("Via", $0)?.components(separatedBy: "branch=").last?.components(separatedBy: ";").first }
        #expect(branches.count == 2 && branches[0] != branches[1] && branches.allSatisfy { $0.hasPrefix("z9hG4bK") })
        #expect(second.contains("Authorization: Digest username=\"1001\"") && !second.contains("line-secret"))
        #expect(!messages.contains("SIP/2.0 403"), "sipp's verifyauth accepted the credentials")
    }

    @Test("wrong credentials: sipp refuses with 403, provctl says so and exits 6; Auth_ID_1_ is the user with Use_Auth_ID_1_")
    func refused() throws {
        let box = try box()
        let phone = try SippPhone(user: "1001", password: "another-secret", in: box)
        let outcome = try box.provctl("resync", "000e08abcdef", "--address", "127.0.0.1:\(phone.port)", "--json")
        _ = phone.finish()
        #expect(outcome.status == 7)
        let entries = try #require(try outcome.json() as? [[String: Any]])
        #expect(entries.first?["ok"] as? Bool == false && entries.first?["status"] as? Int == 403)
        #expect(!outcome.text.contains("line-secret") && !outcome.stderr.contains("line-secret"))

        try box.ok("set", "default", "Use_Auth_ID_1_=Yes", "Auth_ID_1_=auth-1001")
        let second = try SippPhone(user: "auth-1001", password: "line-secret", in: box)
        let accepted = try box.provctl("resync", "000e08abcdef", "--address", "127.0.0.1:\(second.port)")
        let (_, messages) = second.finish()
        #expect(accepted.status == 0, "\(accepted)")
        #expect(messages.contains("username=\"auth-1001\""))
    }

    @Test("paced: three phones at --rate 4 take at least half a second; each gets its own line; the address comes from the last fetch")
    func paced() throws {
        let box = try box()
        try box.ok("device", "add", "000e08abcd01", "--group", "sales")
        try box.ok("device", "add", "000e08abcd02", "--group", "sales")
        let phone = try SippPhone(user: "1001", password: "line-secret", calls: 3, in: box)
        // Their last fetches came from 127.0.0.1; their SIP port is sipp's.
        try box.ok("set", "group:sales", "SIP_Port_1_=\(phone.port)")
        for mac in ["000e08abcdef", "000e08abcd01", "000e08abcd02"] {
            try box.phone("/\(mac).xml", mac: mac, serial: mac == "000e08abcdef" ? "88012BA01234" : "")
        }
        let started = Date()
        let outcome = try box.provctl("resync", "--group", "sales", "--rate", "4")
        let elapsed = Date().timeIntervalSince(started)
        let (status, _) = phone.finish()
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.text.split(separator: "\n").filter { $0.contains(" ok ") }.count == 3)
        #expect(elapsed >= 0.5, "two gaps of 250 ms")
        #expect(status == 0)
    }

    @Test("retransmission: T1, 2xT1 ... on the same branch until answered; no answer ends at timer F")
    func retransmission() throws {
        let box = try box()
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Stamp every datagram as it arrives. Without this the kernel starts stamping at the first SIOCGSTAMP, so
        // the first datagram's stamp was the time this (busy) test read it, and T1 could measure short.
        var stampOn: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &stampOn, socklen_t(MemoryLayout<Int32>.size))
        // provctl in the background, T1 = 100 ms.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: provctlBinary)
        process.arguments = ["--db", box.db, "resync", "000e08abcdef", "--address", "127.0.0.1:\(port)", "--t1", "100"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var received: [(Date, String)] = []
        var sender = sockaddr_in()
        var senderLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        var buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<3 {
            let count = withUnsafeMutablePointer(to: &sender) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &senderLength) }
            }
            guard count > 0 else { break }
            // The kernel's arrival time (SIOCGSTAMP), not when this busy test process got round to reading it.
            var stamp = timeval()
            let arrived = ioctl(fd, 0x8906, &stamp) == 0
                ? Date(timeIntervalSince1970: TimeInterval(stamp.tv_sec) + TimeInterval(stamp.tv_usec) / 1e6) : Date()
            received.append((arrived, String(decoding: buffer[0..<count], as: UTF8.self)))
        }
        try #require(received.count == 3)
        #expect(received[0].1 == received[1].1 && received[1].1 == received[2].1, "retransmissions are the same request")
        let gaps = [received[1].0.timeIntervalSince(received[0].0), received[2].0.timeIntervalSince(received[1].0)]
        // Never earlier than RFC 3261 says (the timers count whole milliseconds); later only by what a loaded
        // machine's scheduling adds.
        #expect(gaps[0] >= 0.098 && gaps[0] < 0.3, "T1: \(gaps)")
        #expect(gaps[1] >= 0.198 && gaps[1] < 0.5, "2xT1: \(gaps)")
        // Answer 200 as a phone would: Via, From, Call-ID, CSeq copied, a To tag.
        let lines = received[0].1.components(separatedBy: "\r\n")
        func header(_ name: String) -> String { lines.first { $0.hasPrefix(name + ":") } ?? "" }
        let reply = ["SIP/2.0 200 OK", header("Via"), header("From"), header("To") + ";tag=abc", header("Call-ID"), header("CSeq"),
                     "Content-Length: 0", "", ""].joined(separator: "\r\n")
        _ = reply.withCString { text in
            withUnsafePointer(to: &sender) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), 0, $0, senderLength) } }
        }
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0 && text.contains("200 OK") && text.contains("3 sent"), "\(text)")

        // Nobody answers: timer F (64 x T1 = 640 ms at T1 10 ms... here 64 x 20 ms = 1.28 s).
        let silent = try freeUDPPort()
        let started = Date()
        let lost = try box.provctl("resync", "000e08abcdef", "--address", "127.0.0.1:\(silent)", "--t1", "20")
        #expect(lost.status == 7 && lost.text.contains("no answer (timer F"), "\(lost)")
        #expect(Date().timeIntervalSince(started) >= 1.2)
    }

    @Test("--pending pushes the changed and the failed-on-phone devices; one without an address is skipped; exit 0")
    func pendingLoop() throws {
        let box = try box()
        let phone = try SippPhone(user: "1001", password: "line-secret", in: box)
        try box.ok("set", "device:000e08abcdef", "SIP_Port_1_=\(phone.port)")
        try box.ok("device", "add", "000e08abcd02", "--model", "CP-8841-3PCC")
        try box.ok("device", "add", "000e08abcd03", "--model", "CP-8841-3PCC")
        // abcdef fetched, then changed; abcd02 never fetched but its phone logged a failure; abcd03 never seen.
        try box.phone("/000e08abcdef.xml")
        try box.ok("set", "default", "Display_Name_1_=Changed")
        let stamp = ISO8601DateFormatter().string(from: Date())
        let log = try box.write("phones.log", "\(stamp) 192.0.2.11 CP-8841-3PCC 00:0e:08:ab:cd:02 -- Resync failed: decrypt error\n")
        // abcd02 has no proven address, so its line is kept only from a relay (issue 19: a syslog line is a claim).
        try box.ok("syslog", "--relay", "192.0.2.11", log)
        let outcome = try box.provctl("resync", "--pending", "--json", "--t1", "50")
        _ = phone.finish()
        #expect(outcome.status == 0, "every pushable phone accepted: \(outcome)")
        let entries = try #require(try outcome.json() as? [[String: Any]])
        let byMAC = Dictionary(uniqueKeysWithValues: entries.map { ($0["mac"] as! String, $0) })
        #expect(Set(byMAC.keys) == ["000e08abcdef", "000e08abcd02"], "never seen is not pushed")
        #expect(byMAC["000e08abcdef"]?["outcome"] as? String == "ok")
        #expect(byMAC["000e08abcd02"]?["outcome"] as? String == "skipped")
        #expect(entries.allSatisfy { $0["event"] as? String == "resync" })
    }

    @Test("--event report sends NOTIFY with Event: report")
    func reportEvent() throws {
        let box = try box()
        let phone = try SippPhone(user: "1001", password: "line-secret", event: "report", in: box)
        let outcome = try box.provctl("resync", "000e08abcdef", "--event", "report", "--address", "127.0.0.1:\(phone.port)")
        let (status, messages) = phone.finish()
        #expect(outcome.status == 0 && outcome.text.contains("200 OK"), "\(outcome)")
        #expect(status == 0 && messages.contains("Event: report"), "sipp checked the event: \(messages)")
    }

    @Test("refused before sending: no address, Resync_From_SIP No, unknown MAC, bad options")
    func refusals() throws {
        let box = try box()
        // Nothing to push to is skipped, counted, and fails nothing.
        let never = try box.provctl("resync", "000e08abcdef")
        #expect(never.status == 0 && never.text.contains("skipped 1: no address") && never.text.contains("0 ok, 0 failed, 1 skipped"), "\(never)")
        let neverJSON = try #require(try box.provctl("resync", "000e08abcdef", "--json").json() as? [[String: Any]])
        #expect(neverJSON.first?["outcome"] as? String == "skipped" && neverJSON.first?["ok"] as? Bool == false)
        // A bootstrap fetch (no certificate, no account) names the device but proves nothing: still refused.
        try box.ok("device", "edit", "000e08abcdef", "--bootstrap", "profile")
        #expect(try box.phone("/000e08abcdef.xml", certificate: false).status == 200)
        let claimed = try box.provctl("resync", "000e08abcdef", "--json")
        #expect(claimed.status == 7 && claimed.text.contains("\"outcome\": \"refused\"") && claimed.text.contains("\"address_source\": null"), "\(claimed)")
        try box.ok("set", "default", "Resync_From_SIP=No")
        let off = try box.provctl("resync", "000e08abcdef", "--address", "127.0.0.1:9")
        #expect(off.status == 0 && off.text.contains("Resync_From_SIP is No"), "\(off)")
        #expect(try box.provctl("resync", "000e08abcdef", "--event", "reboot").status == 64)
        #expect(try box.provctl("resync", "000e08abcdef", "--event", "report", "--via", "http").status == 64)
        #expect(try box.provctl("resync", "000e08abcd77").status == 3)
        #expect(try box.provctl("resync").status == 64)
        #expect(try box.provctl("resync", "000e08abcdef", "--group", "x").status == 64)
        #expect(try box.provctl("resync", "000e08abcdef", "--via", "telnet").status == 64)
        #expect(try box.provctl("resync", "000e08abcdef", "--rate", "0").status == 64)
        #expect(try box.provctl("resync", "000e08abcdef", "--address", "127.0.0.1:99999").status == 64)
        // --pending with nothing pending pushes nothing.
        try box.ok("device", "disable", "000e08abcdef")
        #expect(try box.ok("resync", "--pending").text.contains("no device pending"))
    }
}

/// Apache playing the phone's web server: `/CGI/Execute` behind mod_auth_digest (realm "phone", user admin),
/// a CGI that keeps the POSTed body and answers a `CiscoIPPhoneResponse`. Configuration written for this test;
/// Apache's own mod_auth_digest checks the credentials.
final class ApachePhone {
    let folder: String
    let port: Int
    let configuration: String

    init(password: String) throws {
        folder = try temporaryFolder()
        chmod(folder, 0o777)
        port = try freeTCPPort()
        let ha1 = Digest.md5Hex(Array("admin:phone:\(password)".utf8))
        try "admin:phone:\(ha1)\n".write(toFile: folder + "/digest.pw", atomically: true, encoding: .utf8)
        let script = folder + "/execute.cgi"
        try """
            #!/bin/sh
            cat > "\(folder)/received"
            printf 'Content-Type: text/xml\\r\\n\\r\\n<?xml version="1.0" encoding="utf-8"?><CiscoIPPhoneResponse><ResponseItem URL="Resync" Data="" Status="0"/></CiscoIPPhoneResponse>\\n'

            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let modules = "/usr/lib/apache2/modules"
        configuration = folder + "/httpd.conf"
        try """
            ServerName 127.0.0.1
            ServerRoot "\(folder)"
            Listen 127.0.0.1:\(port)
            PidFile "\(folder)/httpd.pid"
            DefaultRuntimeDir "\(folder)"
            ErrorLog "\(folder)/error.log"
            LogLevel warn
            \(getuid() == 0 ? "User nobody\nGroup nogroup" : "")
            LoadModule mpm_prefork_module \(modules)/mod_mpm_prefork.so
            LoadModule authn_core_module \(modules)/mod_authn_core.so
            LoadModule authn_file_module \(modules)/mod_authn_file.so
            LoadModule authz_core_module \(modules)/mod_authz_core.so
            LoadModule authz_user_module \(modules)/mod_authz_user.so
            LoadModule auth_digest_module \(modules)/mod_auth_digest.so
            LoadModule alias_module \(modules)/mod_alias.so
            LoadModule cgi_module \(modules)/mod_cgi.so
            StartServers 1
            ScriptAlias /CGI/Execute "\(script)"
            <Location /CGI/Execute>
                AuthType Digest
                AuthName "phone"
                AuthDigestProvider file
                AuthUserFile "\(folder)/digest.pw"
                Require valid-user
            </Location>

            """.write(toFile: configuration, atomically: true, encoding: .utf8)
        let started = try run("/usr/sbin/apache2", ["-f", configuration, "-k", "start"], environment: ["PATH": "/usr/sbin:/usr/bin:/bin"])
        guard started.status == 0 else { throw TestFailure("apache2: \(started)") }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: folder + "/httpd.pid") { usleep(20_000) }
    }

    /// What the phone received, if anything.
    var received: String? { try? String(contentsOfFile: folder + "/received", encoding: .utf8) }

    func stop() {
        if let text = try? String(contentsOfFile: folder + "/httpd.pid", encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGTERM)
            for _ in 0..<200 where kill(pid, 0) == 0 { usleep(20_000) }
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// A free TCP port on 127.0.0.1.
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("no free TCP port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

@Suite("provctl resync --via http against Apache playing the phone's web server", .serialized)
struct ResyncHTTPTests {
    @Test("POST XML=<CP-8841-3PCCExecute>... to /CGI/Execute, digest answered with Admin_Password; wrong password fails")
    func execute() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "88012BA01234", "--model", "CP-8841-3PCC")
        try box.ok("set", "default", "Admin_Password=admin-secret", "Profile_Rule=https://prov.example.com/cgi-bin/profile/$MA.xml")
        let phone = try ApachePhone(password: "admin-secret")
        defer { phone.stop() }
        // Admin_Password over plain HTTP only when asked for, with a warning.
        let guarded = try box.provctl("resync", "000e08abcdef", "--via", "http", "--address", "127.0.0.1:\(phone.port)", "--json")
        #expect(guarded.status == 7 && guarded.text.contains("\"outcome\": \"refused\"") && guarded.text.contains("--cleartext-credentials"), "\(guarded)")
        #expect(phone.received == nil, "nothing sent")
        let outcome = try box.provctl("resync", "000e08abcdef", "--via", "http", "--address", "127.0.0.1:\(phone.port)", "--cleartext-credentials")
        #expect(outcome.status == 0 && outcome.text.contains("200 OK after 401 challenge"), "\(outcome)")
        #expect(outcome.stderr.contains("warning: --cleartext-credentials"))
        #expect(outcome.text.contains("(admin)"))
        let body = try #require(phone.received)
        #expect(body.hasPrefix("XML="))
        let document = body.dropFirst(4).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        #expect(document == "<CP-8841-3PCCExecute><ExecuteItem URL=\"Resync:https://prov.example.com/cgi-bin/profile/$MA.xml\"/></CP-8841-3PCCExecute>")

        try box.ok("set", "default", "Admin_Password=not-it")
        let refused = try box.provctl("resync", "000e08abcdef", "--via", "http", "--address", "127.0.0.1:\(phone.port)", "--cleartext-credentials")
        #expect(refused.status == 7 && refused.text.contains("401") && refused.text.contains("admin credentials refused"), "\(refused)")
        #expect(!refused.text.contains("not-it") && !refused.stderr.contains("not-it"))
        // A rule carrying a key is not sent over plain HTTP.
        try box.ok("set", "default", "Profile_Rule=[--key abc123] https://prov.example.com/$MA.cfg")
        let keyed = try box.provctl("resync", "000e08abcdef", "--via", "http", "--address", "127.0.0.1:\(phone.port)", "--cleartext-credentials")
        #expect(keyed.status == 7 && keyed.text.contains("REFUSED") && keyed.text.contains("refused: Profile_Rule holds a --key") && !keyed.text.contains("abc123"), "\(keyed)")
    }
}
