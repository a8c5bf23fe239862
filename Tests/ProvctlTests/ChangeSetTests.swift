import Foundation
import Provisioning
import Testing

/// Issue 21, point 2: a history that only grows. Every command is one change set with one ID; `restore` saves
/// the database first, is a set of its own and can be reverted; IDs are never reused.
@Suite("change sets: one command, one ID; restore keeps the history and can be reverted")
struct ChangeSetTests {
    func history(_ box: Sandbox) throws -> [[String: Any]] {
        try #require(try box.ok("history", "--json").json() as? [[String: Any]])
    }

    @Test("an import of many rows is one history line and one revert")
    func importIsOneSet() throws {
        let box = try Sandbox()
        var csv = "mac,group,model\n"
        for index in 0..<40 { csv += String(format: "000e08%06x,sales,CP-8841-3PCC\n", index) }
        let file = try box.write("devices.csv", csv)
        let imported = try #require(try box.ok("import", file, "--json").json() as? [String: Any])
        let set = try #require(imported["change_set"] as? Int)
        #expect(imported["history_entries"] as? Int == 40, "one entry per device, still")
        let sets = try history(box)
        #expect(sets.count == 1 && sets[0]["id"] as? Int == set && sets[0]["entries"] as? Int == 40 && sets[0]["action"] as? String == "import add",
                "\(sets)")
        #expect(sets[0]["target"] is NSNull && sets[0]["targets"] as? Int == 40)
        // The set's entries, and one device's history still names it.
        let entries = try #require(try box.ok("history", "--set", String(set), "--json").json() as? [[String: Any]])
        #expect(entries.count == 40 && entries.allSatisfy { $0["change_set"] as? Int == set })
        let one = try #require(try box.ok("history", "000e08000007", "--json").json() as? [[String: Any]])
        #expect(one.count == 1 && one[0]["id"] as? Int == set && one[0]["entries"] as? Int == 1 && one[0]["target"] as? String == "000e08000007")
        // An entry inside the set is not a set: revert says which set to take.
        let inner = try box.provctl("revert", String(set + 1))
        #expect(inner.status == 3 && inner.stderr.contains("change set #\(set)"), "\(inner)")
        // A later change to one of the devices makes the revert refuse; reverting that first lets it through.
        try box.ok("device", "edit", "000e08000003", "--group", "lab")
        #expect(try box.provctl("revert", String(set)).status == 4)
        let edit = try #require(try history(box).first?["id"] as? Int)
        try box.ok("revert", String(edit))
        let reverted = try #require(try box.ok("revert", String(set), "--json").json() as? [String: Any])
        #expect(reverted["reverted"] as? [Int] == [set])
        #expect(try box.sql("SELECT count(*) FROM devices") == "0")
        // The revert is one set, one entry, and reverting it brings the 40 back.
        let revertSet = try #require(reverted["change_set"] as? Int)
        #expect(try history(box).first?["entries"] as? Int == 1)
        try box.ok("revert", String(revertSet))
        #expect(try box.sql("SELECT count(*) FROM devices") == "40")
    }

    @Test("restore saves the database first, keeps the history, is a set of its own, and can be reverted; IDs are never reused")
    func restoreGrowsHistory() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--group", "sales")
        try box.ok("set", "default", "Display_Name_1_=Before")
        try box.ok("backup", box.path("b.db"))
        try box.ok("device", "add", "000e08abcd01")
        try box.ok("set", "default", "Display_Name_1_=After")
        func configuration() throws -> String {
            try box.sql("SELECT (SELECT group_concat(mac || ':' || ifnull(group_name, '-'), ',') FROM (SELECT * FROM devices ORDER BY mac)) || ' | ' || (SELECT group_concat(name || '=' || value, ',') FROM settings)")
        }
        let before = try configuration()
        let idsBefore = try history(box).compactMap { $0["id"] as? Int }
        let restored = try #require(try box.ok("restore", box.path("b.db"), "--yes", "--json").json() as? [String: Any])
        let safety = try #require(restored["safety_backup"] as? String)
        let set = try #require(restored["change_set"] as? Int)
        #expect(restored["history_adopted"] as? Bool == false)
        // The safety copy holds the configuration as it was, readable by sqlite3, mode 0600.
        #expect(try run("sqlite3", [safety, "SELECT count(*) FROM devices"]).text.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        let mode = try FileManager.default.attributesOfItem(atPath: safety)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // The history before the restore is all there, and the restore's ID is new.
        let idsAfter = try history(box).compactMap { $0["id"] as? Int }
        #expect(Array(idsAfter.dropFirst()) == idsBefore && set > idsBefore.max()!, "\(idsAfter) vs \(idsBefore)")
        #expect(try box.sql("SELECT count(*) FROM devices") == "1")
        #expect(try box.sql("SELECT value FROM settings WHERE name = 'Display_Name_1_'") == "Before")
        // Reverting the restore puts back what was there.
        try box.ok("revert", String(set))
        #expect(try configuration() == before)
        let next = try #require(try history(box).first?["id"] as? Int)
        #expect(next > set, "never reused")
    }
}
