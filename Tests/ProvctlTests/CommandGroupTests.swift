import Foundation
import Testing

/// Issue 23, point 4: provctl's commands are grouped (device, setting, variable, loop); every flat spelling of
/// earlier releases keeps working, unlisted, and does what its grouped spelling does.
@Suite("grouped commands: every old spelling still parses and does the same")
struct CommandGroupTests {
    /// (old spelling, new spelling, arguments after the command).
    static let pairs: [([String], [String], [String])] = [
        (["set"], ["setting", "set"], ["default", "Resync_Periodic=3600", "--ua", "na"]),
        (["settings"], ["setting", "list"], ["--json"]),
        (["unset"], ["setting", "unset"], ["default", "Resync_Periodic"]),
        (["var"], ["variable", "set"], ["group:sales", "sip_domain=sales.example.com", "--new-name"]),
        (["variables"], ["variable", "list"], []),
        (["vars"], ["variable", "list"], ["--json"]),
        (["unvar"], ["variable", "unset"], ["group:sales", "sip_domain"]),
        (["export"], ["device", "export"], []),
        (["import"], ["device", "import", "--dry-run"], ["-"]),
        (["import-profile"], ["setting", "import"], ["profile.txt", "--scope", "default"]),
        (["settle-empty"], ["setting", "settle-empty"], ["--as", "empty", "--dry-run"]),
        (["fetches"], ["loop", "fetches"], ["--json"]),
        (["pending"], ["loop", "pending"], []),
        (["drift"], ["loop", "drift"], []),
        (["claims"], ["loop", "claims"], ["--json"]),
        (["retention"], ["loop", "retention"], []),
        (["prune"], ["loop", "prune"], []),
        (["syslog"], ["loop", "syslog"], ["--help"]),
        (["adopt"], ["loop", "adopt"], ["--help"]),
        (["resync"], ["loop", "resync"], ["--help"]),
    ]

    static let csv = Data("mac,model,group\n000e08abcdef,CP-8851-3PCC,sales\n".utf8)
    static let profile = Data("Resync_Periodic=600;\n".utf8)

    @Test("each old spelling and its grouped spelling: the same status, output and stored rows")
    func sameOutcome() throws {
        let old = try Sandbox(), new = try Sandbox()
        for sandbox in [old, new] {
            try Self.profile.write(to: URL(fileURLWithPath: sandbox.path("profile.txt")))
            try sandbox.ok("device", "add", "000e08abcdef", "--model", "CP-8851-3PCC", "--group", "sales", "--new-name")
        }
        for (oldSpelling, newSpelling, arguments) in Self.pairs {
            let input = oldSpelling == ["import"] ? Self.csv : nil
            let a = try old.provctl(arguments: oldSpelling + (oldSpelling == ["import"] ? ["--dry-run"] : []) + arguments, input: input)
            let b = try new.provctl(arguments: newSpelling + arguments, input: input)
            let shown = "\(oldSpelling) -> \(newSpelling): \(a) / \(b)"
            #expect(a.status == b.status, "\(shown)")
            #expect(!a.stderr.contains("Unexpected argument") && !a.stderr.contains("Usage:"), "\(shown)")
            // Change-set numbers and timestamps are equal: both sandboxes ran the same commands in the same order.
            #expect(Self.stable(a.text, old) == Self.stable(b.text, new), "\(shown)")
        }
        #expect(try old.sql("SELECT scope, target, name, value FROM settings ORDER BY 1, 2, 3")
                == (try new.sql("SELECT scope, target, name, value FROM settings ORDER BY 1, 2, 3")))
        #expect(try old.sql("SELECT action, target, old_value, new_value FROM audit ORDER BY id")
                == (try new.sql("SELECT action, target, old_value, new_value FROM audit ORDER BY id")))
        #expect(try old.sql("SELECT count(*) FROM audit") != "0")
    }

    @Test("--help lists the groups, not the old spellings; each group's --help lists its members")
    func help() throws {
        let sandbox = try Sandbox(initialise: false)
        let root = try sandbox.provctl("--help").text
        let listed = Set(root.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            return line.hasPrefix("  ") && !line.hasPrefix("   ") ? words.first.map(String.init) : nil
        })
        for group in ["device", "setting", "variable", "loop", "history", "revert", "render", "check"] {
            #expect(listed.contains(group), "\(group) in \(root)")
        }
        for old in ["set", "unset", "var", "unvar", "settings", "variables", "import", "export", "fetches", "pending"] {
            #expect(!listed.contains(old), "\(old) listed in \(root)")
        }
        let setting = try sandbox.provctl("setting", "--help").text
        for member in ["set", "unset", "list", "import", "settle-empty"] { #expect(setting.contains("\n  \(member) "), "\(setting)") }
        let variable = try sandbox.provctl("variable", "--help").text
        for member in ["set", "unset", "list"] { #expect(variable.contains("\n  \(member) "), "\(variable)") }
        // An old spelling's usage names it as the admin typed it.
        let usage = try sandbox.provctl("var", "default")
        #expect(usage.status == 64 && usage.stderr.contains("Usage: provctl var "), "\(usage)")
    }

    /// Output without the parts that differ between two runs (times of day).
    static func stable(_ text: String, _ sandbox: Sandbox) -> String {
        text.replacingOccurrences(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"#, with: "TIME", options: .regularExpression)
            .replacingOccurrences(of: sandbox.folder.path, with: "SANDBOX")
            // The old spelling's help names the command as typed; the grouped one is what it stands for.
            .replacingOccurrences(of: "provctl loop ", with: "provctl ")
    }
}
