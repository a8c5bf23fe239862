import Foundation
import Testing

/// Issue 21, point 3: the device's own key in its rules, `{{device.key}}` (and `{{device.kdf}}`), never shown
/// by dry runs, history, explain or errors.
@Suite("{{device.key}}: the device's own key in its rules, masked everywhere but the profile")
struct DeviceKeyTests {
    @Test("[--key {{device.key}}] renders the device's key; dry run, history and explain mask it; other uses are refused")
    func deviceKey() throws {
        let box = try Sandbox()
        let key = "Sup3r-own-key"
        try box.ok("device", "add", "000e08abcdef", "--encrypt", "aes-256-cbc", "--key", key, "--kdf", "md5", "--group", "sales")
        try box.ok("device", "add", "000e08abcd01", "--group", "lab")
        let rule = "Profile_Rule=[--key {{device.key}}] https://p.example.com/$MA-{{device.kdf}}.cfg"
        let dry = try box.provctl("set", "group:sales", rule, "--dry-run")
        // Grouped by its template, masked.
        #expect(dry.status == 2 && dry.text.contains("[--key ***] https://p.example.com/$MA-{{device.kdf}}.cfg (per device)")
                && !dry.text.contains(key), "\(dry)")
        let diff = try box.provctl("set", "group:sales", rule, "--dry-run", "--diff")
        #expect(diff.text.contains("[--key ***] https://p.example.com/$MA-md5.cfg") && !diff.text.contains(key) && !diff.stderr.contains(key), "\(diff)")
        try box.ok("set", "group:sales", rule)
        // The profile carries it, as the phone needs it.
        let profile = try box.ok("render", "000e08abcdef").text
        #expect(profile.contains("<Profile_Rule>[--key \(key)] https://p.example.com/$MA-md5.cfg</Profile_Rule>"), "\(profile)")
        for arguments in [["history"], ["history", "--json"], ["explain", "000e08abcdef", "Profile_Rule"],
                          ["explain", "000e08abcdef", "{{device.key}}"], ["explain", "000e08abcdef", "{{device.key}}", "--json"], ["settings", "group:sales"]] {
            let shown = try box.ok(arguments: arguments)
            #expect(!shown.text.contains(key) && !shown.stderr.contains(key), "\(arguments): \(shown)")
        }
        // A device without a key cannot use it: refused, naming the variable.
        let keyless = try box.provctl("set", "group:lab", rule)
        #expect(keyless.status == 6 && keyless.stderr.contains("{{device.key}}"), "\(keyless)")
        // Anywhere but after --key in a rule it would be shown: refused.
        for bad in ["Display_Name_1_={{device.key}}", "Profile_Rule=https://p.example.com/{{device.key}}.cfg"] {
            let refused = try box.provctl("set", "group:sales", bad)
            #expect(refused.status == 65 && refused.stderr.contains("belongs only after --key"), "\(bad): \(refused)")
        }
        #expect(try box.provctl("var", "default", "k={{device.key}}").status == 65)
        #expect(try box.provctl("var", "default", "device.key=x").status == 65, "a name of its own")
        try box.ok("set", "group:sales", "Profile_Rule_B=[--key \"{{device.key}}\"] https://p.example.com/$MA-b.cfg")
    }
}
