import Foundation
import Testing

/// `provctl export` → `provctl import` reproduces every device (issue 21, point 4): keys of both ciphers, device
/// settings in every partition with their ua and the intent of an empty value, variables, bootstrap, account.
@Suite("provctl export and import: round trips")
struct ExportRoundTripTests {
    static let cbc = "000e08aaaa01"
    static let gcm = "000e08aaaa02"
    /// RFC 8188 §3.1's example IKM (base64url, 16 octets).
    static let ikm = "yqdlZ-tYemfogSmv7Ts5yQ"

    /// A database with one device of every kind.
    static func fleet() throws -> Sandbox {
        let box = try Sandbox()
        try box.ok("device", "add", cbc, "--model", "CP-8841-3PCC", "--group", "sales", "--encrypt", "aes-256-cbc",
                   "--key", "Cbc-Passphrase-2026-abcdefgh", "--kdf", "md5")
        try box.ok("device", "add", gcm, "--model", "CP-8841-3PCC", "--group", "sales", "--gzip", "--encrypt", "aes128gcm",
                   "--key", ikm, "--key-id", "k1", "--record-size", "1024")
        try box.ok("device", "edit", gcm, "--bootstrap", "cfg")
        try box.ok("device", "edit", cbc, "--account", "phone-0001", "--password", "Acc0unt-Pw")
        try box.ok("set", "device:" + cbc, "Display_Name_1_=Alice", "Station_Name=Desk A", "--ua", "rw")
        try box.ok("set", "device:" + cbc, "Password_1_=S3cret!")
        try box.ok("set", "device:" + cbc, "Dial_Plan_1_=")
        try box.ok("set", "device:" + cbc, "--leave", "Station_Display_Name")
        try box.ok("set", "device:" + gcm, "--partition", "lines", "User_ID_2_=2002", "--ua", "ro")
        try box.ok("set", "device:" + gcm, "--partition", "lines", "Display_Name_2_=")
        try box.ok("set", "device:" + gcm, "--partition", "lines", "--leave", "Short_Name_2_", "--ua", "rw")
        try box.ok("var", "device:" + cbc, "ext=101", "sip_password=Pw9;x")
        try box.ok("var", "device:" + gcm, "ext=102")
        return box
    }

    static let deviceRows = "SELECT mac, ifnull(serial,''), ifnull(model,''), ifnull(group_name,''), enabled, gzip, encryption, "
        + "ifnull(encryption_key,''), ifnull(kdf_digest,''), ifnull(ece_key_id,''), ifnull(ece_record_size,''), "
        + "ifnull(account_user,''), ifnull(account_realm,''), ifnull(account_ha1,''), bootstrap FROM devices ORDER BY mac"
    static let settingRows = "SELECT scope, target, part, name, value, ifnull(ua,'-'), ifnull(intent,'-') FROM settings ORDER BY 1, 2, 3, 4"
    static let variableRows = "SELECT scope, target, name, value FROM variables ORDER BY 1, 2, 3"

    /// What the phone and the admin see of each device: every form and partition rendered.
    static func rendered(_ box: Sandbox) throws -> [String] {
        var out: [String] = []
        for mac in [cbc, gcm] {
            out.append(try box.ok("render", mac).text)
            out.append(try box.ok("render", mac, "--form", "cfg", "--plain").text)
            out.append(try box.ok("render", mac, "--form", "gz", "--plain").text)
        }
        out.append(try box.ok("render", gcm, "--partition", "lines").text)
        return out
    }

    @Test("export --show-secrets into a fresh database reproduces every device; exporting again gives the same file")
    func fullRoundTrip() throws {
        let box = try Self.fleet()
        let exported = try box.ok("export", "--show-secrets").text
        // The spelling: partition/name, ua: and intent: columns, aes128gcm's fields, the account.
        let header = exported.prefix { $0 != "\r\n" }
        for column in ["key_id", "record_size", "bootstrap", "account", "realm", "ha1", "set:Dial_Plan_1_", "intent:Dial_Plan_1_",
                       "ua:Display_Name_1_", "set:lines/User_ID_2_", "ua:lines/User_ID_2_", "intent:lines/Short_Name_2_"] {
            #expect(header.split(separator: ",").contains(Substring(column)), "\(column) in \(header)")
        }
        #expect(exported.contains(",aes128gcm,\(Self.ikm),,k1,1024,cfg,"))
        let fresh = try Sandbox()
        let imported = try fresh.ok("import", try fresh.write("all.csv", exported)).text
        #expect(imported.contains("2 added"))
        // The history of the import holds no secret (keys, IKM, HA1, secret settings and variables are masked).
        let history = try fresh.sql("SELECT group_concat(ifnull(old_value, '') || new_value) FROM audit")
        for secret in [Self.ikm, "Cbc-Passphrase-2026-abcdefgh", "S3cret!", "Pw9;x", try box.sql("SELECT account_ha1 FROM devices WHERE mac = '\(Self.cbc)'")] {
            #expect(!history.contains(secret), "\(secret) in the history")
        }
        #expect(try fresh.sql(Self.deviceRows) == box.sql(Self.deviceRows))
        #expect(try fresh.sql(Self.settingRows) == box.sql(Self.settingRows))
        #expect(try fresh.sql(Self.variableRows) == box.sql(Self.variableRows))
        #expect(try Self.rendered(fresh) == Self.rendered(box))
        // Empty and left values rendered as the admin set them.
        let main = try fresh.ok("render", Self.cbc).text
        #expect(main.contains("<Dial_Plan_1_></Dial_Plan_1_>"))
        #expect(main.contains("<Station_Display_Name/>"))
        let lines = try fresh.ok("render", Self.gcm, "--partition", "lines").text
        #expect(lines.contains("<Display_Name_2_></Display_Name_2_>"))
        #expect(lines.contains("<Short_Name_2_ ua=\"rw\"/>"))
        #expect(lines.contains("<User_ID_2_ ua=\"ro\">2002</User_ID_2_>"))
        // And out again: the same bytes; importing it again changes nothing.
        #expect(try fresh.ok("export", "--show-secrets").text == exported)
        #expect(try box.ok("import", try box.write("same.csv", exported)).text.contains("0 changed, 2 unchanged"))
        // The JSON export carries the same (python-jsonschema checks the shape in JSONSchemaTests).
        let json = try fresh.ok("export", "--json", "--show-secrets").text
        #expect(json.contains("\"partition\": \"lines\"") || json.contains("\"partition\":\"lines\""))
        #expect(json.contains("\"intent\": \"keep\"") || json.contains("\"intent\":\"keep\""))
    }

    @Test("without --show-secrets keys, HA1, secret variables and settings are ***; importing keeps the stored ones")
    func maskedRoundTrip() throws {
        let box = try Self.fleet()
        let before = (try box.sql(Self.deviceRows), try box.sql(Self.settingRows), try box.sql(Self.variableRows))
        let masked = try box.ok("export").text
        for secret in [Self.ikm, "Cbc-Passphrase-2026-abcdefgh", "S3cret!", "Pw9;x", try box.sql("SELECT account_ha1 FROM devices WHERE mac = '\(Self.cbc)'")] {
            #expect(!masked.contains(secret))
        }
        #expect(masked.contains(",aes128gcm,***,,k1,1024,"))
        // Edit the file as an admin would (a new display name), import: secrets kept, the edit applied.
        let edited = masked.replacingOccurrences(of: ",Alice,", with: ",Alicia,")
        let outcome = try box.ok("import", try box.write("masked.csv", edited)).text
        #expect(outcome.contains("1 changed, 1 unchanged"))
        #expect(outcome.contains("change set #"))
        #expect(try box.sql(Self.deviceRows) == before.0)
        #expect(try box.sql(Self.settingRows) == before.1.replacingOccurrences(of: "|Alice|", with: "|Alicia|"))
        #expect(try box.sql(Self.variableRows) == before.2)
        // Into a fresh database a masked file cannot restore the secrets: refused, naming line and column.
        let fresh = try Sandbox()
        let refused = try fresh.provctl("import", try fresh.write("masked.csv", masked))
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("--show-secrets"))
        #expect(try fresh.sql("SELECT count(*) FROM devices") == "0")
    }

    @Test("aes128gcm cells follow device edit's rules, and bootstrap cfg's minimum key strength", arguments: [
        ("aes128gcm,c2hvcnQ,,", "key"),                       // 5 octets
        ("aes128gcm,not base64!,,", "key"),
        ("aes128gcm,\(ikm),,17", "record_size"),
        ("aes128gcm,\(ikm),,big", "record_size"),
        ("aes-256-cbc,Cbc-Passphrase-2026-abcdefgh,,1024", "record_size"),
        ("none,,k1,", "key_id"),
    ])
    func gcmRules(cells: String, column: String) throws {
        let box = try Sandbox()
        let refused = try box.provctl("import", try box.write("bad.csv", "mac,encryption,key,key_id,record_size\n000e08aaaa09,\(cells)\n"))
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stderr.contains("line 2") && refused.stderr.contains(column), "\(refused.stderr)")
        #expect(try box.sql("SELECT count(*) FROM devices") == "0")
    }

    @Test("bootstrap cfg with a weak key is refused as device edit refuses it")
    func weakBootstrapKey() throws {
        let box = try Sandbox()
        let refused = try box.provctl("import", try box.write("weak.csv",
            "mac,encryption,key,bootstrap\n000e08aaaa09,aes-256-cbc,short,cfg\n"))
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("bootstrap cfg"), "\(refused.stderr)")
        try box.ok("import", try box.write("strong.csv", "mac,encryption,key,key_id,bootstrap\n000e08aaaa09,aes128gcm,\(Self.ikm),k9,cfg\n"))
        #expect(try box.sql("SELECT encryption || '|' || ece_key_id || '|' || ece_record_size || '|' || bootstrap FROM devices") == "aes128gcm|k9|4096|cfg")
    }

    @Test("the text of a change names its change set, the ID revert takes; a dry run names none")
    func changeSetLine() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08aaaa09")
        let text = try box.ok("set", "device:000e08aaaa09", "Display_Name_1_=Bob", "Station_Name=Desk").text
        let last = try #require(text.split(separator: "\n").last.map(String.init))
        let id = try #require((try box.ok("history", "--json").json() as? [[String: Any]])?.first?["id"] as? Int)
        #expect(last == "change set #\(id) (provctl revert \(id) undoes it)", "\(text)")
        let dry = try box.provctl("set", "device:000e08aaaa09", "Display_Name_1_=Rob", "--dry-run")
        #expect(!dry.text.contains("change set #"), "\(dry)")
        #expect(try box.ok("revert", String(id)).text.contains("change set #\(id + 2)"))
        #expect(try box.sql("SELECT count(*) FROM settings") == "0")
    }

    @Test("files written before the new columns import as before; ua:/intent: cells are checked")
    func oldFilesAndBadCells() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08aaaa09")
        try box.ok("set", "device:000e08aaaa09", "Display_Name_1_=Bob", "--ua", "rw")
        try box.ok("set", "device:000e08aaaa09", "Dial_Plan_1_=")
        // An old file: set: without ua: keeps the stored ua; an empty set: cell removes.
        try box.ok("import", try box.write("old.csv", "mac,set:Display_Name_1_,set:Dial_Plan_1_\n000e08aaaa09,Robert,\n"))
        #expect(try box.sql(Self.settingRows) == "device|000e08aaaa09||Display_Name_1_|Robert|rw|-")
        // intent: keeps an empty value; an empty ua: cell clears the ua.
        try box.ok("import", try box.write("new.csv",
            "mac,set:Display_Name_1_,ua:Display_Name_1_,set:lines/Dial_Plan_2_,intent:lines/Dial_Plan_2_\n000e08aaaa09,Robert,,,keep\n"))
        #expect(try box.sql(Self.settingRows)
                == "device|000e08aaaa09||Display_Name_1_|Robert|-|-\ndevice|000e08aaaa09|lines|Dial_Plan_2_||-|keep")
        for (file, column) in [
            ("mac,set:A_,intent:A_\n000e08aaaa09,x,keep\n", "intent:A_"),
            ("mac,set:A_,intent:A_\n000e08aaaa09,,maybe\n", "intent:A_"),
            ("mac,set:A_,ua:A_\n000e08aaaa09,x,wr\n", "ua:A_"),
            ("mac,set:A_,ua:A_\n000e08aaaa09,,rw\n", "ua:A_"),
        ] {
            let refused = try box.provctl("import", try box.write("bad.csv", file))
            #expect(refused.status == 65, "\(file)")
            #expect(refused.stderr.contains(column), "\(refused.stderr)")
        }
        for (file, rule) in [("mac,ua:A_\n000e08aaaa09,rw\n", "without set:A_"), ("mac,set:Lines/A_\n000e08aaaa09,x\n", "partition")] {
            let refused = try box.provctl("import", try box.write("bad.csv", file))
            #expect(refused.status == 65)
            #expect(refused.stderr.contains(rule), "\(refused.stderr)")
        }
    }
}
