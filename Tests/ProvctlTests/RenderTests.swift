import Foundation
import Testing

@Suite("provctl render, dry runs and check")
struct RenderTests {
    func populated() throws -> Sandbox {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "SN1", "--model", "CP-8841-3PCC", "--group", "sales",
                   "--gzip", "--encrypt", "aes-256-cbc", "--key", "a phrase", "--kdf", "md5")
        try box.ok("device", "add", "000e08abcd01", "--model", "CP-7841-3PCC", "--group", "support")
        try box.ok("set", "default", "Resync_Periodic=3600", "Station_Name=Phone {{mac}} & {{cert.ou}}", "--ua", "na")
        try box.ok("var", "default", "pk=profile-key")
        try box.ok("set", "group:sales", "Password_1_=hunter2", "Profile_Rule=[--key {{pk}}] https://p.example.com/$MA.cfg")
        return box
    }

    @Test("render prints the XML as served; xmllint reads it; gz and cfg decode with gzip and openssl")
    func forms() throws {
        let box = try populated()
        let xml = try box.ok("render", "00:0E:08:AB:CD:EF")
        #expect(xml.text.contains("<Station_Name ua=\"na\">Phone 000e08abcdef &amp; CP-8841-3PCC</Station_Name>"))
        #expect(xml.text.contains("<Password_1_>hunter2</Password_1_>"), "render is the profile exactly, not masked")
        let file = try box.write("profile.xml", xml.text)
        #expect(try run("xmllint", ["--noout", file]).status == 0)

        let gz = try box.ok("render", "000e08abcdef", "--form", "gz")
        #expect(Array(gz.stdout.prefix(2)) == [0x1f, 0x8b])
        #expect(try run("gzip", ["-dc"], input: gz.stdout).stdout == xml.stdout)

        let cfg = try box.ok("render", "000e08abcdef", "--form", "cfg")
        #expect(String(decoding: cfg.stdout.prefix(8), as: UTF8.self) == "Salted__")
        let decrypted = try run("openssl", ["enc", "-d", "-aes-256-cbc", "-md", "md5", "-k", "a phrase"], input: cfg.stdout)
        #expect(decrypted.status == 0)
        #expect(try run("gzip", ["-dc"], input: decrypted.stdout).stdout == xml.stdout)
        #expect(try box.ok("render", "000e08abcdef", "--form", "cfg", "--plain").stdout == xml.stdout)

        #expect(try box.provctl("render", "000e08abcd01", "--form", "cfg").status == 3, "no encryption, no .cfg")
        #expect(try box.provctl("render", "000e08000000").status == 3)
        #expect(try box.provctl("render", "000e08abcdef", "--form", "pdf").status == 64)
    }

    @Test("render --all: a link planted at the temporary or target name redirects nothing; files are 0640")
    func renderAllIsSafe() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef")
        try box.ok("set", "default", "Password_1_=plain-secret-1")
        let out = box.path("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let victim = box.path("victim.txt")
        try Data("untouched".utf8).write(to: URL(fileURLWithPath: victim))
        // The old temporary name, and the target itself, as links to a file of someone else's.
        try FileManager.default.createSymbolicLink(atPath: out + "/000e08abcdef.xml.tmp", withDestinationPath: victim)
        let outcome = try box.ok("render", "--all", "--out", out)
        #expect(outcome.text.contains("rendered 1 profile(s)"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "untouched")
        let attributes = try FileManager.default.attributesOfItem(atPath: out + "/000e08abcdef.xml")
        #expect((attributes[.posixPermissions] as? Int) == 0o640, "no world-readable plaintext secrets")
        try FileManager.default.removeItem(atPath: out + "/000e08abcdef.xml")
        try FileManager.default.createSymbolicLink(atPath: out + "/000e08abcdef.xml", withDestinationPath: victim)
        #expect(try box.ok("render", "--all", "--out", out).text.contains("rendered 1 profile(s)"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "untouched", "the link is replaced, not written through")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/000e08abcdef.xml.tmp") == victim)
        #expect(try box.provctl("render", "--all", "--out", out, "--file-group", "no-such-group-zz").status == 64)
        let group = try #require(getgrgid(getegid())).pointee.gr_name.map { String(cString: $0) }
        #expect(try box.provctl("render", "--all", "--out", box.path("out2"), "--file-group", try #require(group)).status == 0)
    }

    @Test("render --all writes one file per enabled device, equal to render MAC")
    func renderAll() throws {
        let box = try populated()
        try box.ok("device", "add", "000e08abcd02", "--disabled")
        let out = box.path("all")
        let outcome = try box.ok("render", "--all", "--out", out)
        #expect(outcome.text.contains("rendered 2 profile(s)"))
        #expect(outcome.text.contains("1 disabled skipped"))
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files == ["000e08abcd01.xml", "000e08abcdef.xml"])
        for mac in ["000e08abcd01", "000e08abcdef"] {
            let written = try Data(contentsOf: URL(fileURLWithPath: out + "/" + mac + ".xml"))
            #expect(written == (try box.ok("render", mac).stdout))
        }
        let cfg = try box.ok("render", "--all", "--out", box.path("cfg"), "--form", "cfg")
        #expect(cfg.text.contains("rendered 1 profile(s)"))
        #expect(try box.provctl("render", "--all").status == 64)
    }

    @Test("--dry-run --diff lists the changed devices with a masked diff, exits 2 and writes nothing")
    func dryRun() throws {
        let box = try populated()
        let before = try box.dump()
        let outcome = try box.provctl("set", "group:sales", "Resync_Periodic=600", "Password_1_=newsecret", "--dry-run", "--diff")
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.text.contains("device 000e08abcdef would change"))
        #expect(!outcome.text.contains("000e08abcd01 would change"))
        #expect(outcome.text.contains("+  <Resync_Periodic ua=\"na\">600</Resync_Periodic>"))
        #expect(outcome.text.contains("-  <Resync_Periodic ua=\"na\">3600</Resync_Periodic>"))
        #expect(outcome.text.contains("@@ "))
        #expect(!outcome.text.contains("hunter2") && !outcome.text.contains("newsecret") && !outcome.text.contains("profile-key"))
        #expect(try box.dump() == before)

        let same = try box.provctl("set", "default", "Resync_Periodic=3600", "--dry-run")
        #expect(same.status == 0, "\(same)")
        #expect(same.text.contains("0 of 2"))

        let json = try box.provctl("var", "default", "pk=other", "--dry-run", "--json", "--diff")
        #expect(json.status == 2)
        let object = try #require(try json.json() as? [String: Any])
        #expect((object["changed"] as? [[String: Any]])?.first?["mac"] as? String == "000e08abcdef")
        let groups = try #require(object["groups"] as? [[String: Any]])
        #expect(groups.count == 1 && (groups[0]["macs"] as? [String]) == ["000e08abcdef"])

        let secretOnly = try box.provctl("set", "group:sales", "Password_1_=other", "--dry-run", "--diff")
        #expect(secretOnly.status == 2)
        #expect(secretOnly.text.contains("only secret values change"))

        for arguments in [["device", "disable", "000e08abcd01"], ["device", "remove", "000e08abcd01"],
                          ["device", "edit", "000e08abcd01", "--group", "sales"], ["unset", "default", "Station_Name"],
                          ["device", "add", "000e08abcd09"], ["device", "replace", "000e08abcd01", "000e08abcd07"]] {
            let preview = try box.provctl(arguments: arguments + ["--dry-run", "--diff"])
            #expect(preview.status == 2, "\(arguments): \(preview)")
            #expect(try box.dump() == before, "\(arguments) wrote something")
        }
        let edit = try box.provctl("device", "edit", "000e08abcd01", "--group", "sales", "--dry-run", "--diff").text
        #expect(edit.contains("+  <Password_1_>***</Password_1_>"))
    }

    @Test("check finds bad stored values, unresolvable devices and bad resolved values")
    func check() throws {
        let box = try populated()
        let clean = try box.provctl("check", "--web-user", currentUserName)
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.text.contains("checked 2 device(s): 0 problem(s)"))

        // Each of these would break a phone: --force stores them anyway, for check to find.
        try box.ok("set", "group:support", "Display_Name_1_={{missing}}", "--force")
        try box.ok("set", "model:CP-8841-3PCC", "Resync_Periodic={{period}}", "--force")
        try box.ok("var", "device:000e08abcdef", "period=soon", "--force")
        _ = try box.sql("INSERT INTO settings (scope, target, name, value) VALUES ('default', '', 'Resync_At__HHmm_', '9999')")
        _ = try box.sql("INSERT INTO settings (scope, target, name, value) VALUES ('device', '000e08ffffff', 'Foo', '1')")
        let outcome = try box.provctl("check", "--json", "--web-user", currentUserName)
        #expect(outcome.status == 5, "\(outcome)")
        let object = try #require(try outcome.json() as? [String: Any])
        let findings = try #require(object["findings"] as? [[String: String]])
        let problems = findings.filter { $0["severity"] == "problem" }.map { "\($0["where"]!) \($0["message"]!)" }
        #expect(problems.contains { $0.contains("device:000e08abcd01") && $0.contains("undefined variable {{missing}}") })
        #expect(problems.contains { $0.contains("device:000e08abcdef") && $0.contains("Resync_Periodic") && $0.contains("soon") })
        #expect(problems.contains { $0.contains("Resync_At__HHmm_") })
        #expect(findings.contains { $0["severity"] == "warning" && $0["message"]!.contains("000e08ffffff is not a device") })
    }
}
