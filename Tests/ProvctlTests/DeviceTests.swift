import Foundation
import Provisioning
import Testing

@Suite("provctl device")
struct DeviceTests {
    @Test("init creates the schema; a second init says it is up to date")
    func initialise() throws {
        let box = try Sandbox(initialise: false)
        let first = try box.ok("init")
        #expect(first.text.contains("created the database \(box.db) (schema version \(ConfigurationStore.schemaVersion))"))
        #expect(try box.sql("PRAGMA user_version") == String(ConfigurationStore.schemaVersion))
        #expect(try box.sql("SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)")
                == "audit,changes,devices,expected_profiles,server_keys,settings,variables")
        #expect(try box.ok("init").text.contains("up to date"))
    }

    @Test("a missing database is exit 1; a malformed MAC or an unknown option is exit 64")
    func failures() throws {
        let box = try Sandbox(initialise: false)
        let missing = try box.provctl("device", "list")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no file at"))
        try box.ok("init")
        #expect(try box.provctl("device", "add", "00:0e:08:ab:cd").status == 64)
        #expect(try box.provctl("device", "list", "--colour").status == 64)
        #expect(try box.provctl("device", "add", "000e08abcdef", "--encrypt", "aes-256-cbc").status == 64)
    }

    @Test("add in any MAC spelling, show, list with filters, duplicate is a conflict")
    func addShowList() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "00-0E-08-AB-CD-EF", "--serial", "SN1", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("device", "add", "000e.08ab.cd01", "--model", "CP-7841-3PCC", "--group", "support", "--disabled")
        try box.ok("device", "add", "000E08ABCD02", "--group", "sales", "--encrypt", "aes-256-cbc", "--key", "k1")
        #expect(try box.sql("SELECT mac || '|' || ifnull(serial,'') || '|' || enabled FROM devices ORDER BY mac")
                == "000e08abcd01||0\n000e08abcd02||1\n000e08abcdef|SN1|1")
        let duplicate = try box.provctl("device", "add", "00:0e:08:ab:cd:ef")
        #expect(duplicate.status == 4)

        let show = try box.ok("device", "show", "000e.08ab.cdef")
        #expect(show.text.contains("00:0e:08:ab:cd:ef"))
        #expect(show.text.contains("CP-8841-3PCC"))
        #expect(show.text.contains("never"))
        #expect(try box.provctl("device", "show", "000e08000000").status == 3)

        func listed(_ arguments: String...) throws -> [String] {
            let list = try box.ok(arguments: ["device", "list", "--json"] + arguments)
            let rows = try #require(try list.json() as? [[String: Any]])
            return rows.compactMap { $0["mac"] as? String }
        }
        #expect(try listed() == ["000e08abcd01", "000e08abcd02", "000e08abcdef"])
        #expect(try listed("--group", "sales") == ["000e08abcd02", "000e08abcdef"])
        #expect(try listed("--model", "CP-7841-3PCC") == ["000e08abcd01"])
        #expect(try listed("--disabled") == ["000e08abcd01"])
        #expect(try listed("--enabled", "--group", "sales") == ["000e08abcd02", "000e08abcdef"])
        _ = try box.journalSQL("INSERT INTO seen (mac, node, first_seen, last_seen, remote_addr, firmware, count) VALUES ('000e08abcd02', 'n1', 1700000000, 1700000100, '10.0.0.2', '12.0.1', 3)")
        #expect(try listed("--seen") == ["000e08abcd02"])
        #expect(try listed("--never-seen") == ["000e08abcd01", "000e08abcdef"])
        let table = try box.ok("device", "list")
        #expect(table.text.hasPrefix("MAC "))
        #expect(table.text.contains("2023-11-14T22:15:00Z"))
        let json = try #require(try box.ok("device", "show", "000e08abcd02", "--json").json() as? [String: Any])
        #expect(json["key"] as? String == "***")
        #expect((json["seen"] as? [String: Any])?["count"] as? Int == 3)
        let shown = try #require(try box.ok("device", "show", "000e08abcd02", "--json", "--show-secrets").json() as? [String: Any])
        #expect(shown["key"] as? String == "k1")
    }

    @Test("edit changes and clears fields; enable and disable; not found is 3")
    func editEnableDisable() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "SN1", "--model", "CP-8841-3PCC", "--group", "sales")
        try box.ok("device", "edit", "00:0e:08:ab:cd:ef", "--group", "support", "--serial", "", "--gzip",
                   "--encrypt", "aes-256-cbc", "--key", "phrase", "--kdf", "md5")
        #expect(try box.sql("SELECT ifnull(serial,'NULL') || '|' || group_name || '|' || gzip || '|' || encryption || '|' || encryption_key || '|' || kdf_digest FROM devices")
                == "NULL|support|1|aes-256-cbc|phrase|md5")
        try box.ok("device", "edit", "000e08abcdef", "--encrypt", "none", "--no-gzip")
        #expect(try box.sql("SELECT encryption || '|' || ifnull(encryption_key,'NULL') || '|' || gzip FROM devices") == "none|NULL|0")
        #expect(try box.provctl("device", "edit", "000e08abcdef").status == 64)
        #expect(try box.provctl("device", "edit", "000e08000001", "--group", "x").status == 3)
        try box.ok("device", "disable", "000e08abcdef")
        #expect(try box.sql("SELECT enabled FROM devices") == "0")
        try box.ok("device", "enable", "000E08ABCDEF")
        #expect(try box.sql("SELECT enabled FROM devices") == "1")
        #expect(try box.provctl("device", "disable", "000e08abcdef", "000e08000001").status == 3)
        #expect(try box.sql("SELECT enabled FROM devices") == "1", "all or nothing")
    }

    @Test("remove takes the device-scope settings and variables along; the journal keeps its history")
    func remove() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef")
        try box.ok("device", "add", "000e08abcd01")
        try box.ok("set", "device:000e08abcdef", "Display_Name_1_=Front Desk")
        try box.ok("var", "device:000e08abcdef", "ext=101")
        try box.ok("set", "device:000e08abcd01", "Display_Name_1_=Back Office")
        _ = try box.journalSQL("INSERT INTO seen (mac, node, first_seen, last_seen, count) VALUES ('000e08abcdef', 'n1', 1, 2, 1)")
        try box.ok("device", "remove", "00:0e:08:ab:cd:ef")
        #expect(try box.sql("SELECT count(*) FROM devices") == "1")
        #expect(try box.sql("SELECT count(*) FROM settings WHERE target = '000e08abcdef'") == "0")
        #expect(try box.sql("SELECT count(*) FROM variables WHERE target = '000e08abcdef'") == "0")
        #expect(try box.journalSQL("SELECT count(*) FROM seen") == "1")
        #expect(try box.sql("SELECT count(*) FROM settings WHERE target = '000e08abcd01'") == "1")
        #expect(try box.provctl("device", "remove", "000e08abcdef").status == 3)
    }

    @Test("replace moves fields, settings and variables to the new MAC; serial from the claim")
    func replace() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef", "--serial", "OLDSN", "--model", "CP-8841-3PCC", "--group", "sales",
                   "--encrypt", "aes-256-cbc", "--key", "k")
        try box.ok("set", "device:000e08abcdef", "Display_Name_1_=Front Desk", "Password_1_=pw1")
        try box.ok("var", "device:000e08abcdef", "ext=101")
        _ = try box.journalSQL("INSERT INTO seen (mac, node, first_seen, last_seen, count) VALUES ('000e08abcdef', 'n1', 1, 2, 1)")
        _ = try box.journalSQL("INSERT INTO claims (mac, node, serial, model, first_seen, last_seen, count) VALUES ('000e08abcd99', 'n1', 'NEWSN', 'CP-8841-3PCC', 5, 6, 2)")
        let before = try box.ok("render", "000e08abcdef").text
        let replaced = try box.ok("device", "replace", "000e08abcdef", "00:0E:08:AB:CD:99")
        #expect(replaced.stderr.contains("NEWSN"))
        #expect(try box.sql("SELECT mac || '|' || serial || '|' || group_name || '|' || encryption_key FROM devices")
                == "000e08abcd99|NEWSN|sales|k")
        #expect(try box.sql("SELECT count(*) FROM settings WHERE scope = 'device' AND target = '000e08abcd99'") == "2")
        #expect(try box.sql("SELECT value FROM variables WHERE target = '000e08abcd99'") == "101")
        #expect(try box.journalSQL("SELECT mac FROM seen") == "000e08abcdef", "history of the old unit")
        #expect(!(try box.ok("claims").text.contains("000e08abcd99")), "the new unit's claim is settled")
        #expect(try box.ok("render", "000e08abcd99").text == before, "the profile is the same on the new unit")
        try box.ok("device", "add", "000e08abcd98")
        #expect(try box.provctl("device", "replace", "000e08abcd99", "000e08abcd98").status == 4)
        #expect(try box.provctl("device", "replace", "000e08000000", "000e08000001").status == 3)
        let history = try box.ok("history", "000e08abcd99").text
        #expect(history.contains("device replace"))
    }
}
