import Foundation
@testable import Provisioning
@testable import ProvisioningAdmin
import Testing

/// What provctl prints, tried as an attacker would: every secret the catalogue knows stays masked in every
/// output without --show-secrets; bytes a caller wrote (a User-Agent, a syslog line) cannot drive the terminal;
/// an export cannot carry a spreadsheet formula.
@Suite("provctl outputs against hostile input")
struct HostileOutputTests {
    /// Every secret name of the catalogue (and a URL with user info) set, then every output read.
    @Test("no catalogue secret in settings, history, export, diff or dry run, text or JSON")
    func secretsMaskedEverywhere() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "88012BA01234", "--model", "CP-8841-3PCC")
        var assignments: [String] = []
        var values: [String] = []
        var seen: Set<String> = []
        for (index, pattern) in ParameterCatalogue.patterns.enumerated() {
            let name = pattern.replacingOccurrences(of: "#", with: "1")
            // (A name whose values are a closed list, such as a Yes/No switch the rules also call secret, takes
            // no free sentinel value.)
            guard Secrets.isSecret(name), !name.contains("/"), XMLText.isValidName(name), ParameterCatalogue.values(for: name).isEmpty,
                  name != DerivedSettings.ikmName,
                  seen.insert(name).inserted else { continue }
            assignments.append("\(name)=zz\(index)qq")
            values.append("zz\(index)qq")
        }
        assignments.append("Profile_Rule=https://prov:urlpw77@p.example.com/$MA.xml")
        values.append("urlpw77")
        #expect(values.count > 30)
        let dry = try box.provctl(arguments: ["set", "device:000e08abcdef", "--dry-run", "--diff"] + assignments)
        try box.ok(arguments: ["set", "device:000e08abcdef", "--force"] + assignments)
        var outputs = [dry.text + dry.stderr]
        for arguments in [["settings", "device:000e08abcdef"], ["settings", "device:000e08abcdef", "--json"],
                          ["history"], ["history", "--json"], ["export"], ["device", "show", "000e08abcdef"],
                          ["device", "show", "000e08abcdef", "--json"]] {
            let outcome = try box.provctl(arguments: arguments)
            outputs.append(outcome.text + outcome.stderr)
        }
        for (index, output) in outputs.enumerated() {
            for value in values { #expect(!output.contains(value), "output \(index) shows \(value)") }
        }
        // With --show-secrets the admin sees them (the masking is not a loss of data).
        let shown = try box.ok("settings", "device:000e08abcdef", "--show-secrets").text
        #expect(values.allSatisfy { shown.contains($0) })
    }

    @Test("export writes formulas as text unless --raw; import reads them back unchanged")
    func csvInjection() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef")
        try box.ok("var", "device:000e08abcdef", "offset=-5", "note=@SUM(1+1)", "plain=ok", "link==HYPERLINK(\"http://evil.example/\",\"x\")")
        let exported = try box.ok("export").text
        #expect(exported.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\"") && exported.contains("'-5") && exported.contains("'@SUM(1+1)"))
        #expect(!exported.contains(",=") && !exported.contains(",-5") && !exported.contains(",@"))
        let raw = try box.ok("export", "--raw").text
        #expect(raw.contains(",-5") && raw.contains(",@SUM(1+1)"))
        let other = try Sandbox()
        try other.ok("import", try other.write("back.csv", exported))
        #expect(try other.ok("export").text == exported, "the quote comes off on import")
        #expect(try other.ok("variables", "device:000e08abcdef").text.contains("=HYPERLINK"))
    }

    @Test("control characters, C1 codes and bidi overrides from callers are shown, not obeyed")
    func escaper() throws {
        #expect(TextEscaper.visible("a\u{1B}[2Jb\u{7}") == "a\\x1b[2Jb\\x07")
        #expect(TextEscaper.visible("x\u{202E}gpj.exe") == "x\\u{202e}gpj.exe")
        #expect(TextEscaper.visible("c1\u{9B}31m") == "c1\\u{9b}31m")
        #expect(TextEscaper.visible("two\nlines\ttab") == "two\nlines\ttab")
        #expect(TextEscaper.visible("two\nlines", singleLine: true) == "two\\x0alines")
        #expect(TextEscaper.visible("Grüße 日本") == "Grüße 日本")
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "88012BA01234")
        let hostile = "Cisco-CP-8841-3PCC/11.3.7 (000e08abcdef)\u{1B}]0;owned\u{7}\u{202E}"
        let outcome = try run(cgiBinary, [], environment: [
            "PROVISIONER_DB": box.path("provisioner.db"), "REQUEST_METHOD": "GET", "PATH_INFO": "/000e08ffffff.xml",
            "REMOTE_ADDR": "198.51.100.1\u{1B}[31m", "HTTP_USER_AGENT": hostile, "SSL_CLIENT_VERIFY": "SUCCESS",
            "SSL_CLIENT_S_DN_OU": "CP-8841-3PCC\u{1B}[2J", "SSL_CLIENT_S_DN_L": "FCH\u{9B}1", "SSL_CLIENT_S_DN_ST": "000e08ffffff"])
        #expect(outcome.status == 0)
        for arguments in [["fetches"], ["claims"], ["device", "show", "000e08abcdef"]] {
            let text = try box.ok(arguments: arguments).text
            #expect(!text.contains("\u{1B}") && !text.contains("\u{202E}") && !text.contains("\u{9B}"), "\(arguments)")
        }
        let json = try box.ok("fetches", "--json").text
        #expect(!json.contains("\u{1B}") && json.contains("\\u001b"), "JSON stays JSON")
    }

    @Test("a device whose .cfg anyone may download needs a strong key: edit and import refuse a weak one")
    func bootstrapKeyStrength() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--encrypt", "aes-256-cbc", "--key", "k")
        let weak = try box.provctl("device", "edit", "000e08abcdef", "--bootstrap", "cfg")
        #expect(weak.status != 0 && weak.stderr.contains("at least 22 characters"), "\(weak)")
        #expect(try box.provctl("device", "edit", "000e08abcdef", "--key", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "--bootstrap", "cfg").status != 0,
                "length alone is not strength")
        try box.ok("device", "edit", "000e08abcdef", "--key", "Vq3xT9pLm2Rz7Kd4Wn8Ys6Hb", "--bootstrap", "cfg")
        let csv = "mac,key\r\n000e08abcdef,short\r\n"
        let imported = try box.provctl("import", try box.write("weak.csv", csv))
        #expect(imported.status != 0 && imported.stderr.contains("at least 22 characters"), "\(imported)")
        #expect(try box.provctl("device", "edit", "000e08abcdef", "--bootstrap", "profile").status == 0, "no .cfg for anyone: no rule")
    }
}
