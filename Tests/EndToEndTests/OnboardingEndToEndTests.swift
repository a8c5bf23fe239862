// Zero-touch onboarding (issue 25) through the real Apache with real certificates: an order list's entry serves a
// phone on its first request, `provctl expect promote` makes it a device with the history entry `onboarding`; a
// mismatch stays a claim with its reason; a caller who proved nothing is never served; an adoption rule.
import Foundation
import Testing

extension EndToEndTests {
    /// A group of its own with a setting that shows the entry's variable, so a served profile proves both.
    func onboardingGroup() throws -> String {
        let group = "onb-" + randomHex(4)
        try provctl(["var", "group:\(group)", "ext=0000"])
        try provctl(["set", "group:\(group)", "Display_Name_1_=Desk {{ext}}", "Station_Name=onboarded"])
        return group
    }

    /// Writes `text` to a CSV file in the test's folder and imports it with `provctl expect import --json`.
    @discardableResult
    func importOrder(_ text: String) throws -> [String: Any] {
        let path = folder + "/order-\(randomHex(4)).csv"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let output = try provctl(["expect", "import", path, "--json"])
        return try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
    }

    func promoted() throws -> [String] {
        let output = try provctl(["expect", "promote", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        return (object["promoted"] as? [[String: Any]] ?? []).compactMap { $0["mac"] as? String }
    }

    @Test("an expected phone is served on its first request, again until promoted, then is a device with `onboarding` in its history")
    func expectedPhoneIsServedAndPromoted() throws {
        let group = try onboardingGroup()
        let phone = try Phone.make(in: folder, form: .cn, model: "CP-8861-3PCC")
        let imported = try importOrder("mac,serial,model,group,var:ext\n\(phone.mac.uppercased()),\(phone.serial),CP-8861-3PCC-K9=,\(group),4711\n")
        #expect(imported["added"] as? Int == 1)
        let path = "/cgi-bin/profile/\(phone.mac).xml"
        let first = try fetch(path, as: phone.credentials)
        #expect(first.status == 200, "\(first.text)")
        #expect(try xpath(first.body, "/flat-profile/Display_Name_1_") == "Desk 4711")
        #expect(try xpath(first.body, "/flat-profile/Station_Name") == "onboarded")
        #expect(try journal("SELECT reason || '|' || status || '|' || trusted FROM fetches WHERE mac = '\(phone.mac)' ORDER BY id DESC LIMIT 1",
                            awaiting: "onboarding|200|1") == "onboarding|200|1")
        // Not promoted yet: the same bytes again (the configuration is untouched by serving).
        let again = try fetch(path, as: phone.credentials)
        #expect(again.status == 200 && again.body == first.body)
        #expect(try sqlite("SELECT count(*) FROM devices WHERE mac = '\(phone.mac)'") == "0")
        #expect(try promoted().contains(phone.mac))
        #expect(try sqlite("SELECT serial || '|' || model || '|' || group_name FROM devices WHERE mac = '\(phone.mac)'")
                == "\(phone.serial)|CP-8861-3PCC-K9=|\(group)")
        #expect(try sqlite("SELECT value FROM variables WHERE scope = 'device' AND target = '\(phone.mac)' AND name = 'ext'") == "4711")
        #expect(try sqlite("SELECT action || '|' || old_value FROM audit WHERE target = '\(phone.mac)'") == "onboarding|expected mac:\(phone.mac)")
        #expect(try sqlite("SELECT count(*) FROM server_keys WHERE name = 'expected:mac:\(phone.mac)'") == "0")
        // A device now: the known-device path serves it the same profile.
        let known = try fetch(path, as: phone.credentials)
        #expect(known.status == 200 && known.body == first.body)
        #expect(try journal("SELECT reason FROM fetches WHERE mac = '\(phone.mac)' ORDER BY id DESC LIMIT 1", awaiting: "ok") == "ok")
        #expect(!(try promoted().contains(phone.mac)))
    }

    @Test("right MAC, wrong serial or product: not served, a claim with the reason")
    func mismatchStaysAClaim() throws {
        let group = try onboardingGroup()
        let phone = try Phone.make(in: folder, form: .ouls, model: "CP-8841-3PCC")
        let other = try Phone.make(in: folder, form: .ouls, model: "CP-8841-3PCC")
        try importOrder("""
            mac,serial,model,group
            \(phone.mac),WRONG0001,CP-8841-3PCC,\(group)
            \(other.mac),,CP-7841-3PCC,\(group)

            """)
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
        #expect(answer.status == 404)
        #expect(!answer.text.contains("onboarded"))
        #expect(try fetch("/cgi-bin/profile/\(other.mac).xml", as: other.credentials).status == 404)
        #expect(try journal("SELECT count(*) FROM claims WHERE mac = '\(other.mac)'", awaiting: "1") == "1")
        #expect(errorLogLines(containing: "expected serial WRONG0001, certificate says \(phone.serial)").count >= 1)
        #expect(try promoted().allSatisfy { $0 != phone.mac && $0 != other.mac })
        let claims = try #require(try JSONSerialization.jsonObject(with: try provctl(["claims", "--json"])) as? [[String: Any]])
        let reasons = Dictionary(uniqueKeysWithValues: claims.compactMap { claim in
            (claim["mac"] as? String).map { ($0, claim["expected"] as? String ?? "") }
        })
        #expect(reasons[phone.mac] == "expected serial WRONG0001, certificate says \(phone.serial)")
        #expect(reasons[other.mac] == "expected product CP-7841-3PCC, certificate says CP-8841-3PCC")
        try provctl(["expect", "remove", phone.mac, other.mac])
    }

    @Test("a caller who proved nothing (a MAC in the path, a User-Agent) is never served from an entry")
    func unprovenCallerIsNeverServed() throws {
        let group = try onboardingGroup()
        let phone = try Phone.make(in: folder, form: .ouls, model: "CP-8841-3PCC")
        try importOrder("mac,model,group,var:ext\n\(phone.mac),CP-8841-3PCC,\(group),99\n")
        let agent = "User-Agent: Cisco-CP-8841-3PCC/11.3.7 (\(phone.mac))"
        for path in ["/cgi-bin/profile/\(phone.mac).xml", "/cgi-bin/profile/\(phone.mac).cfg", "/prov/CP-8841-3PCC.xml"] {
            let answer = try fetch(path, as: nil, headers: [agent])
            #expect(answer.status != 200, "\(path): \(answer.status)")
            #expect(!answer.text.contains("onboarded") && !answer.text.contains("Desk 99"))
        }
        #expect(try journal("SELECT count(*) FROM fetches WHERE mac = '\(phone.mac)' AND reason = 'onboarding'", awaiting: "0") == "0")
        #expect(try promoted().allSatisfy { $0 != phone.mac })
        #expect(try sqlite("SELECT count(*) FROM server_keys WHERE name = 'expected:mac:\(phone.mac)'") == "1")
        try provctl(["expect", "remove", phone.mac])
    }

    @Test("an adoption rule (serial prefix and product) serves and promotes a phone nobody listed")
    func adoptionRule() throws {
        let group = try onboardingGroup()
        let phone = try Phone.make(in: folder, form: .cn, model: "CP-7841-3PCC")
        // The whole serial as the prefix: no other test's phone can match this rule.
        let added = try #require(try JSONSerialization.jsonObject(with: try provctl([
            "expect", "rule-add", "--serial-prefix", phone.serial, "--product", "CP-7841", "--group", group, "--json",
        ])) as? [String: Any])
        let rule = try #require(added["id"] as? String)
        defer { _ = try? provctl(["expect", "remove", rule]) }
        let answer = try fetch("/cgi-bin/profile/\(phone.mac).xml", as: phone.credentials)
        #expect(answer.status == 200, "\(answer.text)")
        #expect(try xpath(answer.body, "/flat-profile/Station_Name") == "onboarded")
        _ = try journal("SELECT reason FROM fetches WHERE mac = '\(phone.mac)' ORDER BY id DESC LIMIT 1", awaiting: "onboarding")
        #expect(try promoted().contains(phone.mac))
        #expect(try sqlite("SELECT group_name || '|' || model FROM devices WHERE mac = '\(phone.mac)'") == "\(group)|CP-7841-3PCC")
        #expect(try sqlite("SELECT old_value FROM audit WHERE target = '\(phone.mac)' AND action = 'onboarding'") == "expected \(rule)")
        // The rule stays for the next phone.
        #expect(try sqlite("SELECT count(*) FROM server_keys WHERE name = 'expected:\(rule)'") == "1")
    }
}
