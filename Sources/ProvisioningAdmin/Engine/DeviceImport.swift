public import Provisioning

/// The devices CSV import's writes (`provctl device import`): validated rows applied with statements prepared
/// once, each device's undo rows and audit entry written by hand (a trigger per row costs a program and a
/// statement journal), the whole import one change set.
public enum DeviceImport {
    /// A large file touches many pages in one transaction: keep them in memory rather than spilling to the WAL
    /// before the commit (128 MiB at most, for this connection only).
    public static func prepareForBulkWrites(_ store: DeviceStore) throws(SQLiteError) {
        try store.database.execute("PRAGMA cache_size = -131072")
    }

    /// One validated row. `nil` fields are columns the file does not have.
    public struct Row {
        public init(line: Int, mac: MACAddress, serial: String??, model: String??, group: String??) {
            self.line = line
            self.mac = mac
            self.serial = serial
            self.model = model
            self.group = group
        }

        public var line: Int
        public var mac: MACAddress
        public var serial: String??
        public var model: String??
        public var group: String??
        public var enabled: Bool?
        public var gzip: Bool?
        /// "none", "aes-256-cbc" or "aes128gcm"; nil: keep.
        public var encryption: String?
        /// nil: no column or keep (empty, ***).
        public var key: String?
        public var digest: KeyDerivationDigest?
        /// aes128gcm's key id and record size; nil: no column or an empty cell (keep).
        public var keyID: String?
        public var recordSize: Int?
        /// nil: no column or an empty cell (keep).
        public var bootstrap: BootstrapPolicy?
        /// The HTTP account's user: nil no column, .some(nil) an empty cell (no account).
        public var account: String??
        public var realm: String?
        /// The account's HA1; nil: no column, empty or *** (keep the stored one).
        public var ha1: String?
        /// The whole `variables` cell: replaces every device variable.
        public var variables: [(name: String, value: String)]?
        /// `var:NAME` cells: a value sets, nil removes.
        public var variableCells: [(name: String, value: String?)] = []
        /// `set:[PART/]NAME` cells (with `ua:` and `intent:`): the device-scope setting.
        public var settingCells: [SettingCell] = []
    }

    /// One device-scope setting of a row: `value` nil removes it; `access` nil when the file has no `ua:` column
        /// (the stored ua is kept), `.some(nil)` for an empty `ua:` cell (no ua); `intent` for an empty value.
    public struct SettingCell {
        public init(column: SettingColumn, value: String?) {
            self.column = column
            self.value = value
        }

        public var column: SettingColumn
        public var value: String?
        public var access: UserAccess??
        public var intent: EmptyIntent?
    }

    public struct Counts: Sendable {
        public var added = 0, changed = 0, unchanged = 0

        public init() {}
    }

    /// Writes the rows with statements prepared once; a row whose cells cannot be applied to what is stored
    /// (a *** with nothing stored, a key for a device without encryption) is a problem and is not written.
    public static func apply(_ rows: [Row], to store: DeviceStore, audit: AuditRecorder, secretNames: Set<String>,
                             problems: inout [AdminError.Problem], progress: ((Int, Int) -> Void)? = nil) throws -> Counts {
        let database = store.database
        let select = try database.prepare("SELECT \(DeviceStore.deviceColumns) FROM devices WHERE mac = ?1")
        let insert = try database.prepare(DeviceStore.insertDeviceSQL)
        let update = try database.prepare(DeviceStore.updateDeviceSQL)
        let selectVariables = try database.prepare("SELECT name, value FROM variables WHERE scope = 'device' AND target = ?1 ORDER BY name")
        let deleteVariables = try database.prepare("DELETE FROM variables WHERE scope = 'device' AND target = ?1")
        let insertVariable = try database.prepare("INSERT INTO variables (scope, target, name, value) VALUES ('device', ?1, ?2, ?3)")
        let auditRow = try database.prepare("""
            INSERT INTO audit (at, who, action, target, old_value, new_value, first_change, last_change, change_set)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """)
        // The undo rows of each device are written here, in the order the triggers would write them (the device,
        // its variables deleted, its variables inserted), and without them: a trigger costs a program and a
        // statement journal per row. The entry's range is from the mark before its writes to the newest row.
        var mark = try store.undoMark ?? store.lastChange()
        try database.execute(UndoLog.dropTriggers(in: "temp", on: ["devices", "variables"]))
        let deviceImage = try database.prepare(UndoLog.imageSQL(of: "devices", where: "mac = ?1"))
        let variableImages = try database.prepare(UndoLog.imageSQL(of: "variables", where: "scope = 'device' AND target = ?1"))
        let undoRow = try database.prepare("INSERT INTO changes (tbl, old, new) VALUES (?1, ?2, ?3)")
        let variableUndoRow = try database.prepare("""
            INSERT INTO changes (tbl, old, new) VALUES ('variables', NULL,
                json_object('scope', 'device', 'target', ?1, 'name', ?2, 'value', ?3))
            """)
        func image(_ statement: SQLiteStatement, _ mac: String) throws -> [String] {
            statement.reset()
            try statement.bind(1, mac)
            var images: [String] = []
            while try statement.step() { images.append(statement.text(0) ?? "") }
            return images
        }
        var counts = Counts()
        var accountUsers: [String: Int] = [:]
        func shownVariables(_ pairs: [(name: String, value: String)]) -> String {
            VariablesCell.format(pairs.map { pair in
                (pair.name, secretNames.contains(pair.name) ? Secrets.mask : Secrets.mask(variable: pair.name, value: pair.value))
            })
        }
        for (offset, row) in rows.enumerated() {
            if let progress, offset % 1000 == 0 { progress(offset, rows.count) }
            let mac = row.mac.hex
            select.reset()
            try select.bind(1, mac)
            let old: Device? = try select.step() ? DeviceStore.device(from: select) : nil
            var device = old ?? Device(mac: row.mac)
            if let serial = row.serial { device.serial = serial }
            if let model = row.model { device.model = model }
            if let group = row.group { device.group = group }
            if let enabled = row.enabled { device.enabled = enabled }
            if let gzip = row.gzip { device.gzip = gzip }
            var rowProblems: [AdminError.Problem] = []
            // Encryption: the wanted cipher, then the key (given, else the stored one) and the digest.
            var storedKey: String?, storedDigest = KeyDerivationDigest.sha256
            if case .aes256cbc(let key, let digest) = old?.encryption { storedKey = key; storedDigest = digest }
            let storedCipher = old.map(\.encryption.name).flatMap { $0 == "none" ? nil : $0 }
            let cipher = row.encryption ?? storedCipher ?? (row.key != nil ? "aes-256-cbc" : "none")
            func problem(_ field: String, _ rule: String) { rowProblems.append(AdminError.Problem(line: row.line, field: field, rule: rule)) }
            if cipher != "aes128gcm" {
                if row.keyID != nil { problem("key_id", "only with encryption aes128gcm") }
                if row.recordSize != nil { problem("record_size", "only with encryption aes128gcm") }
            }
            if cipher == "none" {
                device.encryption = .none
            } else if cipher == "aes128gcm" {
                // The same fields and rules as provctl device edit --encrypt aes128gcm --key --key-id --record-size.
                if row.digest != nil { problem("digest", "only with aes-256-cbc (aes128gcm derives its key with HKDF-SHA-256)") }
                var fields = ContentEncryptionKey(ikm: "")
                var hadKey = false
                if case .aes128gcm(let stored) = old?.encryption { fields = stored; hadKey = true }
                if let key = row.key { fields.ikm = key } else if !hadKey {
                    problem("key", "aes128gcm needs its IKM in base64url (*** keeps a stored one; this device has none: export with --show-secrets)")
                }
                if let keyID = row.keyID { fields.keyID = keyID }
                if let recordSize = row.recordSize { fields.recordSize = recordSize }
                if row.key != nil || hadKey, let why = fields.problem {
                    // "--key-id: ..." names device edit's option; the column is key_id.
                    let field = why.hasPrefix("--key-id") ? "key_id" : why.hasPrefix("--record-size") ? "record_size" : "key"
                    problem(field, why.firstIndex(of: " ").map { String(why[why.index(after: $0)...]) } ?? why)
                }
                device.encryption = .aes128gcm(fields)
            } else if let key = row.key ?? storedKey {
                device.encryption = .aes256cbc(key: key, digest: row.digest ?? storedDigest)
            } else {
                problem("key", row.encryption == nil
                    ? "a key for a device without encryption: add encryption aes-256-cbc or aes128gcm"
                    : "aes-256-cbc needs a key (*** keeps a stored one; this device has none: export with --show-secrets)")
            }
            if let policy = row.bootstrap { device.bootstrap = policy }
            if case .some(let user) = row.account {
                if let user {
                    let realm = row.realm ?? old?.account?.realm ?? DeviceAccount.defaultRealm
                    if let ha1 = row.ha1 {
                        device.account = DeviceAccount(user: user, realm: realm, ha1: ha1)
                    } else if let current = old?.account, current.user == user, current.realm == realm {
                        device.account = current
                    } else {
                        problem("ha1", "a new account, user name or realm needs its ha1 (HA1 covers all three; *** keeps only an unchanged one)")
                    }
                    if let other = try store.device(accountUser: user), other.mac != row.mac {
                        problem("account", "\(user) is already the account of \(other.mac)")
                    } else if let first = accountUsers.updateValue(row.line, forKey: user) {
                        problem("account", "\(user) is already the account on line \(first)")
                    }
                } else {
                    device.account = nil
                }
            }
            if let weak = BootstrapKeyRule.problem(device) { rowProblems.append(AdminError.Problem(line: row.line, field: "key", rule: weak)) }
            var oldVariables: [(name: String, value: String)] = []
            var newVariables: [(name: String, value: String)]?
            if row.variables != nil || !row.variableCells.isEmpty {
                if old != nil {
                    selectVariables.reset()
                    try selectVariables.bind(1, mac)
                    while try selectVariables.step() {
                        oldVariables.append((selectVariables.text(0) ?? "", selectVariables.text(1) ?? ""))
                    }
                }
                var wanted = row.variables ?? oldVariables
                for (name, value) in row.variableCells {
                    wanted.removeAll { $0.name == name }
                    if let value { wanted.append((name, value)) }
                }
                wanted.sort { $0.name < $1.name }
                for index in wanted.indices where wanted[index].value == Secrets.mask {
                    guard let stored = oldVariables.first(where: { $0.name == wanted[index].name }) else {
                        rowProblems.append(AdminError.Problem(line: row.line, field: row.variables != nil ? "variables" : "var:" + wanted[index].name,
                            rule: "\(wanted[index].name) is *** (a masked export) and has no stored value to keep; export with --show-secrets"))
                        continue
                    }
                    wanted[index].value = stored.value
                }
                let same = wanted.count == oldVariables.count
                    && zip(wanted, oldVariables).allSatisfy { $0.name == $1.name && $0.value == $1.value }
                if !same { newVariables = wanted }
            }
            // set:[PART/]NAME cells (with ua: and intent:) against the device-scope settings stored.
            var settingChanges: [(column: SettingColumn, old: Setting?, new: Setting?)] = []
            for cell in row.settingCells {
                let name = cell.column.name, partition = cell.column.partition
                let stored = old == nil ? nil : try store.setting(scope: .device(row.mac), name: name, partition: partition)
                guard var value = cell.value else {
                    if stored != nil { settingChanges.append((cell.column, stored, nil)) }
                    continue
                }
                if value == Secrets.mask {
                    guard let stored else {
                        problem("set:" + cell.column.spelled,
                                "\(cell.column.spelled) is *** (a masked export) and has no stored value to keep; export with --show-secrets")
                        continue
                    }
                    value = stored.value
                }
                let wanted = Setting(scope: .device(row.mac), name: name, value: value,
                                     access: cell.access ?? stored?.access, partition: partition, intent: cell.intent)
                if stored != wanted { settingChanges.append((cell.column, stored, wanted)) }
            }
            if !rowProblems.isEmpty {
                problems += rowProblems
                continue
            }
            if let old, old == device, newVariables == nil, settingChanges.isEmpty {
                counts.unchanged += 1
                continue
            }
            // Settings first: their undo rows (the triggers on settings stay) come before the device's, inside
            // this row's range.
            for change in settingChanges {
                if let setting = change.new {
                    try store.set(setting)
                } else {
                    try store.removeSetting(scope: .device(row.mac), name: change.column.name, partition: change.column.partition)
                }
            }
            let statement = old == nil ? insert : update
            let oldImage = old == nil ? nil : try image(deviceImage, mac).first
            statement.reset()
            try store.bindDevice(device, to: statement)
            try statement.step()
            undoRow.reset()
            try undoRow.bind([.text("devices"), oldImage.map { .text($0) } ?? .null, .text(try image(deviceImage, mac).first ?? "")])
            try undoRow.step()
            if let newVariables {
                // A DELETE is run only when there are rows (a new device has some only when they were left
                // behind, written outside provctl).
                let removedImages = try image(variableImages, mac)
                if !removedImages.isEmpty {
                    for removed in removedImages {
                        undoRow.reset()
                        try undoRow.bind([.text("variables"), .text(removed), .null])
                        try undoRow.step()
                    }
                    deleteVariables.reset()
                    try deleteVariables.bind(1, mac)
                    try deleteVariables.step()
                }
                for pair in newVariables {
                    insertVariable.reset()
                    try insertVariable.bind([.text(mac), .text(pair.name), .text(pair.value)])
                    try insertVariable.step()
                    variableUndoRow.reset()
                    try variableUndoRow.bind([.text(mac), .text(pair.name), .text(pair.value)])
                    try variableUndoRow.step()
                }
            }
            var oldText = old.map { describe($0) }
            var newText = describe(device)
            if !settingChanges.isEmpty {
                func shown(_ column: SettingColumn, _ setting: Setting?) -> String {
                    guard let setting else { return column.spelled + " unset" }
                    var text = column.spelled + "=" + Secrets.mask(name: column.name, value: setting.value)
                    if let access = setting.access { text += " ua=" + access.rawValue }
                    if let intent = setting.intent { text += " (" + intent.rawValue + ")" }
                    return text
                }
                oldText = (oldText ?? "") + " settings: " + settingChanges.map { shown($0.column, $0.old) }.joined(separator: ", ")
                newText += " settings: " + settingChanges.map { shown($0.column, $0.new) }.joined(separator: ", ")
            }
            if let newVariables {
                oldText = (oldText ?? "") + " variables=" + shownVariables(oldVariables)
                newText += " variables=" + shownVariables(newVariables)
            }
            if old == nil {
                counts.added += 1
            } else {
                counts.changed += 1
            }
            // The undo rows were just written on this connection: the newest is the last insert.
            let last = database.lastInsertRowID
            auditRow.reset()
            try auditRow.bind([.integer(audit.now), .text(audit.who), .text(old == nil ? "import add" : "import edit"),
                               .text(mac), oldText.map { .text($0) } ?? .null, .text(newText),
                               last > mark ? .integer(mark + 1) : .null, last > mark ? .integer(last) : .null,
                               store.changeSet.map { .integer($0) } ?? .null])
            try auditRow.step()
            mark = last
            // The whole import is one change set: the first row's entry opens it (one UPDATE), the others join it.
            if store.changeSet == nil { try store.joinChangeSet(entry: database.lastInsertRowID) }
            audit.note(database.lastInsertRowID)
        }
        try database.execute(UndoLog.temporaryTriggers)
        store.undoMark = mark
        return counts
    }
}
