import Foundation
import Provisioning
import Testing

/// profile-cgi beside provctl (the same build).
let cgiBinary = builtProduct("profile-cgi")

extension Sandbox {
    /// Runs profile-cgi as Apache would for the OU/L/ST phone `mac` (serial 88012BA01234, CP-8841-3PCC), with a
    /// body on stdin for a POST; returns the status and the body.
    @discardableResult
    func phone(_ path: String, method: String = "GET", body: Data? = nil, mac: String = "000e08abcdef",
               serial: String = "88012BA01234", address: String = "127.0.0.1",
               certificate: Bool = true) throws -> (status: Int, body: String) {
        var environment = [
            "PROVISIONER_DB": db, "REQUEST_METHOD": method, "PATH_INFO": path, "REMOTE_ADDR": address,
            "HTTP_USER_AGENT": "Cisco-CP-8841-3PCC/11.3.7 (\(mac))", "SSL_CLIENT_VERIFY": "SUCCESS",
            "SSL_CLIENT_S_DN_OU": "CP-8841-3PCC", "SSL_CLIENT_S_DN_L": serial, "SSL_CLIENT_S_DN_ST": mac,
            "PROVISIONER_NODE": "node-a",
        ]
        if let body { environment["CONTENT_LENGTH"] = String(body.count) }
        // A caller that proves nothing (bootstrap): no certificate at all.
        if !certificate { environment = environment.filter { !$0.key.hasPrefix("SSL_") } }
        let outcome = try run(cgiBinary, [], environment: environment, input: body)
        guard outcome.status == 0 else { throw TestFailure("profile-cgi failed: \(outcome)") }
        let text = outcome.text
        let status = text.hasPrefix("Status: ") ? Int(text.dropFirst(8).prefix(3)) ?? 0 : 200
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    /// A file of `bytes` in the sandbox.
    func file(_ name: String, _ bytes: Data) throws -> String {
        let target = path(name)
        try bytes.write(to: URL(fileURLWithPath: target))
        return target
    }
}

@Suite("closing the loop: fetch history, pending, reports, drift, syslog, retention")
struct LoopTests {
    func box() throws -> Sandbox {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "88012BA01234", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("set", "default", "Resync_Periodic=3600", "User_ID_1_=1001", "Password_1_=s3cret-pw", "Display_Name_1_=Desk")
        return box
    }

    @Test("every answer is a fetch row; fetches filters by MAC, status, time and count; JSON carries the fields")
    func fetchHistory() throws {
        let box = try box()
        #expect(try box.phone("/000e08abcdef.xml").status == 200)
        #expect(try box.phone("/000e08abcdef.cfg").status == 404, "no key: no .cfg")
        #expect(try box.phone("/000e08ffffff.xml").status == 403)
        let entries = try #require(try box.ok("fetches", "000e08abcdef", "--json").json() as? [[String: Any]])
        #expect(entries.count == 3)
        for key in ["time", "mac", "status", "reason", "form", "sha256", "node"] { #expect(entries[0][key] != nil, "key \(key)") }
        #expect(entries[0]["status"] as? Int == 200 && entries[0]["form"] as? String == "xml" && entries[0]["node"] as? String == "node-a")
        // The hash is that of the XML provctl renders.
        let rendered = try box.ok("render", "000e08abcdef").stdout
        #expect(entries[0]["sha256"] as? String == Digest.sha256Hex(Array(rendered)))
        #expect(entries[1]["reason"] as? String == "no encryption configured" && entries[1]["sha256"] is NSNull)
        #expect(entries[2]["reason"] as? String == "MAC mismatch")
        let forbidden = try #require(try box.ok("fetches", "--status", "403", "--json").json() as? [[String: Any]])
        #expect(forbidden.count == 1)
        let last = try #require(try box.ok("fetches", "--limit", "1", "--json").json() as? [[String: Any]])
        #expect(last.count == 1 && last[0]["reason"] as? String == "MAC mismatch", "the newest")
        #expect(try box.ok("fetches", "--since", "2099-01-01").text.split(separator: "\n").count == 1, "header only")
        #expect(try box.ok("fetches", "--since", "1h", "--json").text.contains("000e08abcdef"))
        #expect(try box.provctl("fetches", "--since", "yesterday").status == 64)
        #expect(try box.provctl("fetches", "--status", "42").status == 64)
    }

    @Test("pending lists a changed device until it fetches the new profile, and devices never seen")
    func pendingUntilFetched() throws {
        let box = try box()
        try box.ok("device", "add", "000e08abcd01", "--group", "lab")
        var pending = try #require(try box.listed("pending", "--json").json() as? [[String: Any]])
        #expect(Set(pending.map { $0["mac"] as! String }) == ["000e08abcdef", "000e08abcd01"])
        #expect(pending.allSatisfy { ($0["states"] as? [String]) == ["never seen"] })
        try box.phone("/000e08abcdef.xml")
        pending = try #require(try box.listed("pending", "--group", "sales", "--json").json() as? [[String: Any]])
        #expect(pending.isEmpty, "fetched its current profile")
        try box.ok("set", "group:sales", "Display_Name_1_=Front Desk")
        pending = try #require(try box.listed("pending", "--group", "sales", "--json").json() as? [[String: Any]])
        #expect(pending.count == 1 && (pending[0]["states"] as? [String]) == ["changed"])
        #expect(pending[0]["served_sha256"] as? String != pending[0]["current_sha256"] as? String)
        #expect(try box.listed("pending").text.contains("changed"))
        try box.phone("/000e08abcdef.gz")
        pending = try #require(try box.listed("pending", "--group", "sales", "--json").json() as? [[String: Any]])
        #expect(pending.isEmpty, "the .gz carries the same XML: it leaves the list")
        // Disabled devices are not pending.
        try box.ok("device", "disable", "000e08abcd01")
        #expect(try #require(try box.listed("pending", "--json").json() as? [[String: Any]]).isEmpty)
    }

    @Test("--stale: not seen for 3x its Resync_Periodic, or --stale-after")
    func stale() throws {
        let box = try box()
        try box.phone("/000e08abcdef.xml")
        #expect(try #require(try box.listed("pending", "--stale", "--json").json() as? [[String: Any]]).isEmpty)
        // Its last contact moved 4 hours back: 3 x 3600 s have passed.
        _ = try box.journalSQL("UPDATE fetches SET at = at - 4 * 3600 * 1000000; UPDATE seen SET last_seen = last_seen - 4 * 3600")
        let pending = try #require(try box.listed("pending", "--stale", "--json").json() as? [[String: Any]])
        #expect(pending.count == 1 && (pending[0]["states"] as? [String]) == ["stale"] && pending[0]["stale_after_s"] as? Int == 10800)
        try box.ok("set", "device:000e08abcdef", "Resync_Periodic=7200", "--ua", "na")
        // Its profile changed too now; the limit is 3 x 7200 s.
        let after = try #require(try box.listed("pending", "--stale", "--json").json() as? [[String: Any]])
        #expect((after[0]["states"] as? [String]) == ["changed"] && after[0]["stale_after_s"] as? Int == 21600)
        let tight = try #require(try box.listed("pending", "--stale", "--stale-after", "1h", "--json").json() as? [[String: Any]])
        #expect((tight[0]["states"] as? [String]) == ["changed", "stale"])
        #expect(try box.provctl("pending", "--stale-after", "1h").status == 64, "only with --stale")
    }

    @Test("a report POST is stored per device (plain, gzip, openssl enc md5/sha256); drift compares it, secrets never printed")
    func reportsAndDrift() throws {
        let box = try box()
        try box.ok("device", "edit", "000e08abcdef", "--encrypt", "aes-256-cbc", "--key", "report key", "--kdf", "sha256")
        try box.phone("/000e08abcdef.cfg")
        let report = """
            <flat-profile>
              <Resync_Periodic ua="na">3600</Resync_Periodic>
              <Display_Name_1_ ua="na">Old Desk</Display_Name_1_>
              <User_ID_1_ ua="na">1001</User_ID_1_>
              <Password_1_ ua="na">old-pw-value</Password_1_>
              <Station_Name ua="rw">not set by us</Station_Name>
            </flat-profile>

            """
        let xml = try box.write("report.xml", report)
        // Plain XML.
        #expect(try box.phone("/report/000e08abcdef.xml", method: "POST", body: Data(report.utf8)).status == 200)
        // gzip, then openssl enc with the device's key, with both digests (what `--key` on the phone produces).
        let gz = try run("gzip", ["-c", xml]).stdout
        let gzFile = try box.file("report.xml.gz", gz)
        for digest in ["sha256", "md5"] {
            let encrypted = try run("openssl", ["enc", "-e", "-aes-256-cbc", "-md", digest, "-k", "report key", "-in", gzFile])
            #expect(encrypted.status == 0)
            let answer = try box.phone("/report/000e08abcdef.cfg", method: "POST", body: encrypted.stdout)
            #expect(answer.status == 200 && answer.body == "report stored\n", "\(digest)")
        }
        #expect(try box.journalSQL("SELECT encoding || ' ' || (body = readfile('\(xml)')) FROM reports") == "cfg+gz 1")
        // Refusals: another MAC's name, a wrong key, too large, a POST that is no report, an unknown phone.
        #expect(try box.phone("/report/000e08ffffff.xml", method: "POST", body: Data(report.utf8)).status == 403)
        let wrong = try run("openssl", ["enc", "-e", "-aes-256-cbc", "-md", "sha256", "-k", "other key", "-in", gzFile]).stdout
        #expect(try box.phone("/report/000e08abcdef.cfg", method: "POST", body: wrong) == (400, "undecryptable report\n"))
        #expect(try box.phone("/report/000e08abcdef.xml", method: "POST", body: Data(repeating: 0x3c, count: (1 << 20) + 1)).status == 413)
        #expect(try box.phone("/report/000e08abcdef.xml", method: "POST", body: Data("not xml".utf8)).status == 400)
        #expect(try box.phone("/000e08abcdef.xml", method: "POST", body: Data(report.utf8)).status == 405)
        #expect(try box.phone("/report/000e08abcd99.xml", method: "POST", body: Data(report.utf8), mac: "000e08abcd99").status == 404)
        // The stored report is still the last good one.
        #expect(try box.journalSQL("SELECT count(*) || ' ' || encoding FROM reports") == "1 cfg+gz")

        let text = try box.listed("drift", "000e08abcdef").text
        #expect(text.contains("Display_Name_1_") && text.contains("Old Desk") && text.contains("Password_1_"))
        #expect(!text.contains("Station_Name"), "not set by us: the phone's own business")
        #expect(!text.contains("s3cret-pw") && !text.contains("old-pw-value"), "secrets compared, never printed")
        let json = try #require(try box.listed("drift", "000e08abcdef", "--json").json() as? [String: Any])
        let drift = try #require(json["drift"] as? [[String: Any]])
        #expect(drift.map { $0["name"] as! String } == ["Display_Name_1_", "Password_1_"])
        #expect(drift[1]["secret"] as? Bool == true && drift[1]["expected"] as? String == "***" && drift[1]["reported"] as? String == "***")
        #expect(!(try box.listed("drift", "000e08abcdef", "--json").text.contains("s3cret-pw")))
        // pending marks the disagreement; a matching report clears it.
        let pending = try #require(try box.listed("pending", "--json").json() as? [[String: Any]])
        // The report came after the last fetch and still differs: the phone did not take its profile.
        #expect((pending.first?["states"] as? [String]) == ["failed on phone", "report differs"] && pending.first?["report_drift"] as? Int == 2, "\(pending)")
        #expect((pending.first?["phone_said"] as? String)?.contains("differs in 2 parameter(s)") == true)
        // drift over the fleet: an array of the same objects, exit 5 (findings).
        let fleet = try box.provctl("drift", "--json")
        let fleetEntries = try fleet.json() as? [[String: Any]]
        #expect(fleet.status == 5 && fleetEntries?.first?["mac"] as? String == "000e08abcdef", "\(fleet)")
        #expect(try box.provctl("drift", "--group", "sales").text.contains("1 device(s) with a report: 1 drift"))
        #expect(try box.provctl("drift", "--group", "nosuch").status == 3)
        let good = report.replacingOccurrences(of: "Old Desk", with: "Desk").replacingOccurrences(of: "old-pw-value", with: "s3cret-pw")
        #expect(try box.phone("/report/000e08abcdef.xml", method: "POST", body: Data(good.utf8)).status == 200)
        #expect(try box.listed("drift", "000e08abcdef").text.contains("no drift"))
        #expect(try #require(try box.listed("pending", "--json").json() as? [[String: Any]]).isEmpty)
        #expect(try box.provctl("drift", "000e08abcd77").status == 3)
        // A report POST is no fetch: `seen` counts the two profile fetches only.
        #expect(try box.journalSQL("SELECT count FROM seen") == "1")
    }

    @Test("a device served only its bootstrap profile (no certificate, no secrets) is 'never seen', not 'changed' forever")
    func bootstrapIsNotChanged() throws {
        let box = try box()
        try box.ok("device", "edit", "000e08abcdef", "--bootstrap", "profile")
        // profile-cgi as Apache runs it for a caller with no client certificate.
        let anonymous = try run(cgiBinary, [], environment: [
            "PROVISIONER_DB": box.db, "REQUEST_METHOD": "GET", "PATH_INFO": "/000e08abcdef.xml", "HTTPS": "on",
            "REQUEST_URI": "/cgi-bin/profile/000e08abcdef.xml", "REMOTE_ADDR": "192.0.2.10",
            "HTTP_USER_AGENT": "Cisco-CP-8841-3PCC/11.3.7 (000e08abcdef)", "PROVISIONER_NODE": "node-a"])
        #expect(anonymous.text.hasPrefix("Content-Type") || anonymous.text.contains("200"), "\(anonymous)")
        #expect(!anonymous.text.contains("s3cret-pw"), "no secret without proof")
        // The caller proved nothing (issue 19): its fetch is a claim, which moves nothing the admin sees, so the
        // device is still "never seen", and `resync --pending` does not push it (nor leave it "changed" forever).
        let pending = try #require(try box.listed("pending", "--json").json() as? [[String: Any]])
        #expect(pending.first?["states"] as? [String] == ["never seen"], "\(pending)")
        // A certified fetch gets the whole profile: done.
        try box.phone("/000e08abcdef.xml")
        #expect(try box.provctl("pending", "--json").status == 0)
    }

    @Test("syslog lines in both rsyslog formats attach to the fetch they follow; importing twice adds nothing")
    func syslog() throws {
        let box = try box()
        try box.phone("/000e08abcdef.xml", address: "192.0.2.10")
        let at = Int(try box.journalSQL("SELECT at FROM fetches"))! / 1_000_000
        func rfc3339(_ seconds: Int) -> String {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            return formatter.string(from: date).replacingOccurrences(of: "Z", with: ".000123+00:00")
        }
        func traditional(_ seconds: Int) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone.current
            formatter.dateFormat = "MMM d HH:mm:ss"
            var text = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            // rsyslog pads a one-digit day with a space: "Dec  2".
            if text.split(separator: " ")[1].count == 1 { text = text.replacingOccurrences(of: " ", with: "  ", options: [], range: text.range(of: " ")) }
            return text
        }
        // Lines shaped as the phone's defaults ($PN $MAC ...), with Syslog_Identifier $MA in front of some.
        let log = """
            \(rfc3339(at - 1)) 192.0.2.10 000e08abcdef CP-8841-3PCC 00:0e:08:ab:cd:ef -- Requesting resync https://prov.example.com:443/cgi-bin/profile/000e08abcdef.xml
            \(traditional(at + 2)) 192.0.2.10 CP-8841-3PCC 00:0E:08:AB:CD:EF -- Resync failed: decrypt error
            \(rfc3339(at + 3)) 192.0.2.10 CP-8841-3PCC 00:0e:08:ff:ff:ff -- Successful resync https://prov.example.com/x
            \(rfc3339(at + 4)) 192.0.2.10 000e08abcdef [SIP] REGISTER 200
            not a syslog line

            """
        let file = try box.write("phones.log", log)
        let summary = try box.ok("syslog", file).text
        #expect(summary.contains("2 attached to 1 device(s) (2 new)") && summary.contains("000e08ffffff") && summary.contains("1 not about resyncs"))
        #expect(try box.ok("syslog", file).text.contains("(0 new)"))
        let text = try box.ok("fetches", "000e08abcdef").text
        #expect(text.contains("200") && text.contains("phone: Requesting resync") && text.contains("Resync failed: decrypt error"))
        let entries = try #require(try box.ok("fetches", "000e08abcdef", "--json").json() as? [[String: Any]])
        let phone = try #require(entries.first?["phone"] as? [[String: Any]])
        #expect(phone.map { $0["kind"] as! String } == ["request", "failure"])
        // The fetch answered 200, but the phone said it failed: pending says so, in the phone's words.
        let failed = try box.provctl("pending", "--json")
        let failedEntry = try #require((try failed.json() as? [[String: Any]])?.first)
        #expect(failed.status == 5 && failedEntry["states"] as? [String] == ["failed on phone"], "\(failed)")
        #expect((failedEntry["phone_said"] as? String)?.hasSuffix("Resync failed: decrypt error") == true)
        #expect(try box.provctl("pending").text.contains("phone: CP-8841-3PCC 00:0E:08:AB:CD:EF -- Resync failed: decrypt error"))
        // A second fetch takes the lines after it.
        Thread.sleep(forTimeInterval: 1.1)
        try box.phone("/000e08abcdef.xml", address: "192.0.2.10")
        #expect(try box.ok("syslog", "--all", file).text.contains("1 new"))
        let again = try #require(try box.ok("fetches", "000e08abcdef", "--json").json() as? [[String: Any]])
        #expect(again.count == 2)
        // Configured messages count too.
        try box.ok("set", "default", "Log_Failure_Msg=$PN $MAC -- Provisioning broke: $ERR")
        let custom = try box.write("custom.log", "\(rfc3339(at + 10)) 192.0.2.10 CP-8841-3PCC 00:0e:08:ab:cd:ef -- Provisioning broke: 404\n")
        #expect(try box.ok("syslog", custom).text.contains("1 attached"))
        #expect(try box.journalSQL("SELECT kind FROM phone_log WHERE message LIKE '%broke%'") == "failure")
        #expect(try box.listed("pending").text.contains("Provisioning broke: 404"), "the newest failure is the phone's word")
        // A success after the failure closes it.
        let success = try box.write("success.log", "\(rfc3339(at + 12)) 192.0.2.10 CP-8841-3PCC 00:0e:08:ab:cd:ef -- Successful resync https://prov.example.com/x\n")
        try box.ok("syslog", success)
        #expect(!(try box.provctl("pending", "--json").text.contains("failed on phone")), "changed since (Log_Failure_Msg), no longer failed")
        // A line is a claim: kept only from the device's proven address or a relay; a future time is now.
        let forged = try box.write("forged.log", """
            \(rfc3339(at + 20)) 203.0.113.66 CP-8841-3PCC 00:0e:08:ab:cd:ef -- Resync failed: forged
            \(rfc3339(at + 86_400 * 365)) 192.0.2.10 CP-8841-3PCC 00:0e:08:ab:cd:ef -- Resync failed: from the future

            """)
        let refused = try box.ok("syslog", forged).text
        #expect(refused.contains("1 attached") && refused.contains("1 from a host that is not the device's proven address"), "\(refused)")
        #expect(try box.journalSQL("SELECT count(*) FROM phone_log WHERE message LIKE '%forged%'") == "0")
        #expect(Int(try box.journalSQL("SELECT at FROM phone_log WHERE message LIKE '%future%'"))! / 1_000_000 <= Int(Date().timeIntervalSince1970) + 1)
        // (The future line, taken as now, is a new line at each import: the per-device cap below bounds that.)
        #expect(try box.ok("syslog", "--relay", "203.0.113.66", forged).text.contains("(2 new)"))
        // A bootstrap fetch from another address proves nothing: its address does not speak for the device.
        try box.ok("device", "edit", "000e08abcdef", "--bootstrap", "profile")
        #expect(try box.phone("/000e08abcdef.xml", address: "198.51.100.9", certificate: false).status == 200)
        let claimed = try box.write("claimed.log", "\(rfc3339(at + 30)) 198.51.100.9 CP-8841-3PCC 00:0e:08:ab:cd:ef -- Resync failed: claimed\n")
        #expect(try box.ok("syslog", claimed).text.contains("0 attached"))
        // At most the retention's rows per device.
        try box.ok("retention", "--max-per-device", "3")
        let many = try box.write("many.log", (0..<10).map { "\(rfc3339(at + 40 + $0)) 192.0.2.10 CP-8841-3PCC 00:0e:08:ab:cd:ef -- Resync failed: n\($0)" }.joined(separator: "\n") + "\n")
        try box.ok("syslog", many)
        #expect(try box.journalSQL("SELECT count(*) FROM phone_log WHERE mac = '000e08abcdef'") == "3")
        #expect(try box.journalSQL("SELECT count(*) FROM phone_log WHERE message LIKE '%n9'") == "1", "the newest stay")
    }

    @Test("retention: the writer prunes in batches as it writes; provctl prune trims the rest")
    func retention() throws {
        let box = try box()
        #expect(try box.ok("retention").text.contains("90 days") && box.ok("retention").text.contains("1000 rows"))
        try box.ok("retention", "--max-age", "30", "--max-per-device", "3")
        #expect(try box.ok("retention", "--json").text.contains("\"max_per_device\": 3"))
        // Old rows (40 days) and too many of one device.
        let old = (Int(Date().timeIntervalSince1970) - 40 * 86_400) * 1_000_000
        var inserts = ""
        for index in 0..<5 {
            inserts += "INSERT INTO fetches (at, node, mac, status, reason, bytes, micros) VALUES (\(old + index), 'n', '000e08abcd0\(index)', 200, 'ok', 1, 1);"
        }
        for index in 0..<6 {
            inserts += "INSERT INTO fetches (at, node, mac, status, reason, bytes, micros) VALUES (\(old + 20 * 86_400_000_000 + index), 'n', '000e08abcdef', 200, 'ok', 1, 1);"
        }
        inserts += "INSERT INTO phone_log (at, mac, kind, message, imported_at) VALUES (\(old), '000e08abcdef', 'failure', 'Resync failed: x', 0);"
        _ = try box.journalSQL(inserts)
        #expect(try box.ok("prune").text.contains("pruned 9 row(s)"))
        #expect(try box.journalSQL("SELECT count(*) FROM fetches") == "3")
        #expect(try box.journalSQL("SELECT count(*) FROM phone_log") == "0")
        // The writer: the row it writes at a multiple of 256 prunes (here by age: the old row goes).
        _ = try box.journalSQL("INSERT INTO fetches (id, at, node, mac, status, reason, bytes, micros) VALUES (255, \(old), 'n', '000e08abcd09', 200, 'ok', 1, 1)")
        try box.phone("/000e08abcdef.xml")
        #expect(try box.journalSQL("SELECT count(*) FROM fetches WHERE mac = '000e08abcd09'") == "0")
        #expect(try box.journalSQL("SELECT count(*) FROM fetches WHERE mac = '000e08abcdef'") == "3", "and the device's excess")
        #expect(try box.provctl("retention", "--max-age", "-1").status == 64)
    }

    @Test("a version 1 journal is migrated by the CGI's first write, its rows kept")
    func journalMigration() throws {
        let box = try box()
        let journal = box.path("journal.db")
        let v1 = Journal.schema.replacingOccurrences(of: Journal.migrations[0], with: "")
            .replacingOccurrences(of: ",\n    trusted INTEGER\n", with: "\n")
            .replacingOccurrences(of: "PRAGMA user_version = 3;", with: "PRAGMA user_version = 1;")
        #expect(!v1.contains("trusted"))
        #expect(try run("sqlite3", [journal, v1 + "INSERT INTO fetches (at, node, status, reason, bytes, micros) VALUES (1, 'old', 404, 'x', 0, 0);"]).status == 0)
        #expect(try run("sqlite3", [journal, "PRAGMA user_version"]).text.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        // provctl reads it as it is (no reports there yet).
        #expect(try box.listed("pending", "--json").text.contains("never seen"))
        try box.phone("/000e08abcdef.xml")
        #expect(try run("sqlite3", [journal, "PRAGMA user_version; SELECT count(*) FROM fetches; SELECT count(*) FROM reports; SELECT count(*) FROM fetches WHERE trusted = 1"]).text == "3\n2\n0\n1\n")
    }
}
