import Foundation
import Testing

/// Issue 21, point 5: dry runs and refusals grouped by cause and identical change; --diff keeps the full view.
@Suite("readable dry runs: refusals and templated changes grouped, never one line per parameter per device")
struct DryRunGroupingTests {
    @Test("a refused change is one line per cause; a templated change one group; --diff and JSON keep every device")
    func grouped() throws {
        let box = try Sandbox()
        var csv = "mac,group\n"
        for index in 1...30 { csv += String(format: "000e08%06x,sales\n", index) }
        try box.ok("import", try box.write("d.csv", csv))
        try box.ok("set", "default", "Resync_Periodic=600", "Display_Name_1_=Desk", "User_ID_1_=1001", "Station_Name=Lobby")
        // Refused: every device would stop rendering for one reason.
        let refused = try box.provctl("set", "default", "Station_Name={{nosuch}}", "--dry-run")
        let lines = refused.text.split(separator: "\n")
        #expect(refused.status == 6 && lines.count <= 4, "\(refused)")
        #expect(refused.text.contains("30 devices (000e08000001, 000e08000002, 000e08000003, ...): renders yes → no: undefined variable {{nosuch}}"))
        #expect(!refused.text.contains("(unset)"), "no parameter-by-parameter unset lines")
        let written = try box.provctl("set", "default", "Station_Name={{nosuch}}")
        #expect(written.status == 6 && written.stderr.split(separator: "\n").count == 2, "one grouped problem line: \(written)")
        let json = try #require(try box.provctl("set", "default", "Station_Name={{nosuch}}", "--dry-run", "--json").json() as? [String: Any])
        #expect((json["would_break"] as? [Any])?.count == 30, "JSON lists every device")
        // A templated change: one group, shown as its template.
        let templated = try box.provctl("set", "default", "Display_Name_1_=Desk {{mac}}", "--dry-run")
        #expect(templated.status == 2 && templated.text.split(separator: "\n").count == 2, "\(templated)")
        #expect(templated.text.contains("30 devices") && templated.text.contains("Desk {{mac}} (per device)"))
        let diff = try box.provctl("set", "default", "Display_Name_1_=Desk {{mac}}", "--dry-run", "--diff")
        #expect(diff.text.contains("Desk 000e08000007") && diff.text.contains("Desk 000e0800001e"), "--diff: every device's values")
    }
}
