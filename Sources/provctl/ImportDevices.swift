import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct ImportDevices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add or update devices from a CSV file: every bad row reported, all or nothing.",
        discussion: """
            The file is RFC 4180 CSV in UTF-8: fields with the delimiter, quotes or line breaks in double quotes, \
            inner quotes doubled. The delimiter (, ; or tab) is found from the header line, or given with \
            --delimiter. The first line names the columns, in any order; mac is required:
              mac          any spelling (000e08abcdef, 00:0E:08:AB:CD:EF, ...); each MAC at most once
              serial, model, group   empty means none; letters, digits and . _ - (model also + =, group + @),
                           at most 64 characters
              enabled, gzip          yes/no (also true/false, 1/0); empty means yes for enabled, no for gzip
              encryption   none, aes-256-cbc or aes128gcm (RFC 8188); empty keeps
                           what is stored (none for a new device)
              key          aes-256-cbc: the passphrase ([--key ...]); aes128gcm: the
                           IKM in base64url (16 octets or more); *** or empty keeps
                           the stored key
              digest       aes-256-cbc's digest, md5 or sha256 (or kdf); empty: sha256
              key_id       aes128gcm's header key id; empty keeps what is stored
              record_size  aes128gcm's record size, 18 or more (default 4096)
              bootstrap    none, cfg or profile (device edit --bootstrap); empty
                           keeps what is stored; cfg needs a strong key
              account, realm, ha1   the HTTP account: user, Digest realm and
                           HA1 = MD5(user:realm:password) in hex; an empty account
                           removes it; *** keeps the stored HA1 (same user, realm)
              var:NAME     the device's {{NAME}}; an empty cell removes it; ***
                           keeps the stored value
              set:NAME     the device-scope setting NAME (set:PART/NAME: in the
                           partition PART); *** keeps the stored value; an empty
                           cell removes it unless its intent: cell says empty or keep
              ua:NAME      (ua:PART/NAME) the setting's ua: na, ro or rw, empty for
                           none; without the column the stored ua is kept
              intent:NAME  (intent:PART/NAME) for an empty set: cell: empty (the
                           phone's value becomes empty, <X></X>, as set SCOPE NAME=)
                           or keep (the phone keeps its value, <X/>, as set SCOPE
                           --leave NAME); an empty intent: cell removes the setting
              variables    all the device's {{variables}} at once: name=value;name=value, \\; for a ; and \\\\ \
            for a \\ inside a value; it replaces them (an empty cell removes them); not with var: columns
            A new MAC is added; a known one has the columns present updated and keeps the rest. A claim of an \
            imported MAC is settled. Every row is checked before anything is written and every bad row is \
            reported (line, column, rule); then nothing is written, unless --skip-invalid, which imports the \
            good rows and lists the others. Like every change, an import that would leave a device unable to \
            render is refused (--force). A progress line is shown when stdout is a terminal.
            Examples: provctl import devices.csv --dry-run
                      provctl import export.csv --delimiter ';' --skip-invalid
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The CSV file ('-' for stdin).") var file: String
    @Option(help: "The field delimiter: , ; or tab (default: found from the header line).") var delimiter: String?
    @Flag(help: "Import the good rows and list the bad ones, instead of refusing the file.") var skipInvalid = false

    static let columns = ["mac", "serial", "model", "group", "enabled", "gzip", "encryption", "key", "digest", "key_id",
                          "record_size", "bootstrap", "account", "realm", "ha1", "variables"]

    func validate() throws {
        if let delimiter, Self.delimiterByte(delimiter) == nil {
            throw ValidationError("--delimiter: \"\(delimiter)\" must be , ; or tab")
        }
    }

    static func delimiterByte(_ text: String) -> UInt8? {
        switch text {
        case ",": UInt8(ascii: ",")
        case ";": UInt8(ascii: ";")
        case "tab", "\t", "\\t": 0x09
        default: nil
        }
    }

    /// One validated row. `nil` fields are columns the file does not have.
    struct Row {
        var line: Int
        var mac: MACAddress
        var serial: String??
        var model: String??
        var group: String??
        var enabled: Bool?
        var gzip: Bool?
        /// "none", "aes-256-cbc" or "aes128gcm"; nil: keep.
        var encryption: String?
        /// nil: no column or keep (empty, ***).
        var key: String?
        var digest: KeyDerivationDigest?
        /// aes128gcm's key id and record size; nil: no column or an empty cell (keep).
        var keyID: String?
        var recordSize: Int?
        /// nil: no column or an empty cell (keep).
        var bootstrap: BootstrapPolicy?
        /// The HTTP account's user: nil no column, .some(nil) an empty cell (no account).
        var account: String??
        var realm: String?
        /// The account's HA1; nil: no column, empty or *** (keep the stored one).
        var ha1: String?
        /// The whole `variables` cell: replaces every device variable.
        var variables: [(name: String, value: String)]?
        /// `var:NAME` cells: a value sets, nil removes.
        var variableCells: [(name: String, value: String?)] = []
        /// `set:[PART/]NAME` cells (with `ua:` and `intent:`): the device-scope setting.
        var settingCells: [SettingCell] = []
    }

    /// One device-scope setting of a row: `value` nil removes it; `access` nil when the file has no `ua:` column
        /// (the stored ua is kept), `.some(nil)` for an empty `ua:` cell (no ua); `intent` for an empty value.
    struct SettingCell {
        var column: SettingColumn
        var value: String?
        var access: UserAccess??
        var intent: EmptyIntent?
    }

    func run() throws {
        let bytes = file == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile()) : try readFile(file)
        let separator = delimiter.flatMap(Self.delimiterByte) ?? CSV.sniffDelimiter(bytes)
        // A cell export wrote with a ' in front (a spreadsheet formula, neutralised) is read without it.
        let records = try CSV.records(bytes, delimiter: separator).map { record -> CSV.Record in
            var record = record
            record.fields = record.fields.map(CSV.unneutralised)
            return record
        }
        var (rows, problems) = try Self.rows(records)
        let opened = try store.open()
        // A large file touches many pages in one transaction: keep them in memory rather than spilling to the WAL
        // before the commit (128 MiB at most, for this connection only).
        try opened.database.execute("PRAGMA cache_size = -131072")
        try warnIfNew("model", Set(rows.compactMap { $0.model ?? nil }), in: opened)
        try warnIfNew("group", Set(rows.compactMap { $0.group ?? nil }), in: opened)
        let secretNames = try secretVariableNames(opened)
        var counts = Counts()
        let macs = Set(rows.map(\.mac))
        var skipped: [Failure.Problem] = []
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { .some(macs) }) { audit in
            counts = try Self.apply(rows, to: opened, audit: audit, secretNames: secretNames, problems: &problems)
            if !problems.isEmpty && !skipInvalid { throw refusal(problems) }
            skipped = problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) }
        }
        rows.removeAll()
        var message = "imported \(counts.added + counts.changed + counts.unchanged) row(s): \(counts.added) added, "
            + "\(counts.changed) changed, \(counts.unchanged) unchanged"
        if !skipped.isEmpty {
            message += "; skipped \(Set(skipped.compactMap(\.line)).count) bad row(s):\n"
                + skipped.map { "  " + $0.text }.joined(separator: "\n")
        }
        Output.emit(ChangeResult(action: "import", message: message, count: counts.added + counts.changed, fields: [
            ("added", .int(counts.added)), ("changed", .int(counts.changed)), ("unchanged", .int(counts.unchanged)),
            ("skipped", .array(skipped.map(\.json))), ("history_entries", .int(ids.count)),
        ]), json: output.json)
        if !skipped.isEmpty {
            // Done, with rows skipped: the result above is the whole answer.
            var failure = Failure(.rowsSkipped, "")
            failure.reported = true
            throw failure
        }
    }

    func refusal(_ problems: [Failure.Problem]) -> Failure {
        Failure(.refused, "refused: \(Set(problems.compactMap(\.line)).count) bad row(s) in \(file); nothing written "
                + "(--skip-invalid imports the good rows)", rule: "every row must pass its column's rule",
                problems: problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
    }

    struct Counts {
        var added = 0, changed = 0, unchanged = 0
    }

    /// Validates every record: the good rows, and a problem (line, column, rule) for every bad cell. A bad header
    /// refuses the whole file.
    static func rows(_ records: [CSV.Record]) throws -> ([Row], [Failure.Problem]) {
        guard let header = records.first else {
            throw Failure(.refused, "the file is empty (a header line is required)", field: "header", rule: "a header line")
        }
        var positions: [String: Int] = [:]
        var variableColumns: [(name: String, position: Int)] = []
        var settingColumns: [(column: SettingColumn, position: Int)] = []
        var uaColumns: [SettingColumn: Int] = [:], intentColumns: [SettingColumn: Int] = [:]
        for (index, name) in header.fields.enumerated() {
            var column = name.trimmingSpacesAndTabs.lowercased()
            if column == "kdf" { column = "digest" }
            if let kind = ["set:", "ua:", "intent:"].first(where: { column.hasPrefix($0) }) {
                let spelled = String(name.trimmingSpacesAndTabs.dropFirst(kind.count))
                var parameter = spelled, partition = ""
                if let slash = spelled.firstIndex(of: "/") {
                    partition = String(spelled[..<slash])
                    parameter = String(spelled[spelled.index(after: slash)...])
                    guard Partition.isValidName(partition) else {
                        throw Failure(.refused, "line \(header.line): column \"\(name)\": \"\(partition)\" is not a partition name",
                                      field: name, rule: "\(kind)PART/NAME: PART is 1 to \(Partition.maximumLength) of a-z 0-9 _")
                    }
                }
                guard XMLText.isValidName(parameter) else {
                    throw Failure(.refused, "line \(header.line): column \"\(name)\": not a parameter name", field: name,
                                  rule: "\(kind)NAME or \(kind)PART/NAME names a parameter")
                }
                let setting = SettingColumn(partition: partition, name: parameter)
                let twice: Bool
                switch kind {
                case "set:":
                    twice = settingColumns.contains { $0.column == setting }
                    if !twice { settingColumns.append((setting, index)) }
                case "ua:": twice = uaColumns.updateValue(index, forKey: setting) != nil
                default: twice = intentColumns.updateValue(index, forKey: setting) != nil
                }
                guard !twice else {
                    throw Failure(.refused, "line \(header.line): column \(name) given twice", field: name, rule: "each column once")
                }
                continue
            }
            if column.hasPrefix("var:") {
                let variable = String(name.trimmingSpacesAndTabs.dropFirst(4))
                do {
                    try ParameterRules.checkVariable(name: variable, value: "")
                } catch {
                    throw Failure(.refused, "line \(header.line): column \"\(name)\": \(error.rule)", field: name, rule: error.rule)
                }
                guard !variableColumns.contains(where: { $0.name == variable }) else {
                    throw Failure(.refused, "line \(header.line): column \(name) given twice", field: name, rule: "each column once")
                }
                variableColumns.append((variable, index))
                continue
            }
            guard columns.contains(column) else {
                var message = "line \(header.line): unknown column \"\(name)\""
                if let close = DeviceFieldRules.suggestion(for: column, among: columns) { message += " (did you mean \(close)?)" }
                if name.contains(";") || name.contains("\t") { message += "; is the delimiter right? (--delimiter)" }
                throw Failure(.refused, message + "; columns are " + columns.joined(separator: ", ")
                              + ", var:NAME, set:NAME, ua:NAME, intent:NAME (PART/NAME for a partition)",
                              field: name, rule: "a known column")
            }
            guard positions[column] == nil else {
                throw Failure(.refused, "line \(header.line): column \(column) given twice", field: column, rule: "each column once")
            }
            positions[column] = index
        }
        for (setting, _) in uaColumns.merging(intentColumns, uniquingKeysWith: { a, _ in a })
        where !settingColumns.contains(where: { $0.column == setting }) {
            throw Failure(.refused, "line \(header.line): column ua:/intent:\(setting.spelled) without set:\(setting.spelled)",
                          field: "set:" + setting.spelled, rule: "ua: and intent: columns belong to a set: column")
        }
        guard let macColumn = positions["mac"] else {
            throw Failure(.refused, "line \(header.line): no mac column", field: "mac", rule: "a mac column is required")
        }
        if positions["variables"] != nil && !variableColumns.isEmpty {
            throw Failure(.refused, "line \(header.line): a variables column and var: columns together", field: "variables",
                          rule: "either variables or var:NAME columns")
        }
        var rows: [Row] = []
        rows.reserveCapacity(records.count)
        var problems: [Failure.Problem] = []
        var seen: [MACAddress: Int] = [:]
        seen.reserveCapacity(records.count)
        for record in records.dropFirst() {
            let line = record.line
            var bad = false
            func problem(_ column: String, _ rule: String, value: String? = nil) {
                problems.append(Failure.Problem(line: line, field: column, value: value, rule: rule))
                bad = true
            }
            guard record.fields.count == header.fields.count else {
                problem("-", "\(record.fields.count) field(s), the header has \(header.fields.count)")
                continue
            }
            let macText = record.fields[macColumn].trimmingSpacesAndTabs
            guard let mac = MACAddress(macText) else {
                problem("mac", "not a MAC address (12 hex digits, optionally separated by : - or .)", value: macText)
                continue
            }
            if let first = seen.updateValue(line, forKey: mac) {
                problem("mac", "\(mac) already on line \(first)")
                continue
            }
            func cell(_ column: String) -> String? {
                positions[column].map { record.fields[$0].trimmingSpacesAndTabs }
            }
            func field(_ column: String) -> String?? {
                guard let value = cell(column) else { return nil }
                if value.isEmpty { return .some(nil) }
                do {
                    try DeviceFieldRules.check(field: column, value: value)
                } catch {
                    problem(column, error.rule, value: value)
                }
                return .some(value)
            }
            func flag(_ column: String, empty: Bool) -> Bool? {
                guard let value = cell(column) else { return nil }
                switch value.lowercased() {
                case "": return empty
                case "yes", "true", "1": return true
                case "no", "false", "0": return false
                default: problem(column, "yes or no", value: value); return nil
                }
            }
            var row = Row(line: line, mac: mac, serial: field("serial"), model: field("model"), group: field("group"))
            row.enabled = flag("enabled", empty: true)
            row.gzip = flag("gzip", empty: false)
            if let encryption = cell("encryption"), !encryption.isEmpty {
                if Encryption.names.contains(encryption) { row.encryption = encryption } else {
                    problem("encryption", Encryption.names.joined(separator: ", "), value: encryption)
                }
            }
            if let key = cell("key"), !key.isEmpty, key != Secrets.mask {
                if key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                    problem("key", "one line without control characters")
                } else if row.encryption == "none" {
                    problem("key", "a key with encryption none")
                } else {
                    row.key = key
                }
            }
            if let digest = cell("digest"), !digest.isEmpty {
                if let parsed = KeyDerivationDigest(rawValue: digest.lowercased()) { row.digest = parsed } else {
                    problem("digest", "md5 or sha256", value: digest)
                }
            }
            if let keyID = cell("key_id"), !keyID.isEmpty {
                if row.encryption != nil && row.encryption != "aes128gcm" { problem("key_id", "only with encryption aes128gcm") }
                row.keyID = keyID
            }
            if let size = cell("record_size"), !size.isEmpty {
                if row.encryption != nil && row.encryption != "aes128gcm" { problem("record_size", "only with encryption aes128gcm") }
                if let parsed = Int(size) { row.recordSize = parsed } else {
                    problem("record_size", "a whole number, 18 to \(AES128GCM.maximumRecordSize) (RFC 8188 §2)", value: size)
                }
            }
            if let policy = cell("bootstrap"), !policy.isEmpty {
                if let parsed = BootstrapPolicy(rawValue: policy.lowercased()) { row.bootstrap = parsed } else {
                    problem("bootstrap", "none, cfg or profile", value: policy)
                }
            }
            // The HTTP account, with provctl device edit --account/--realm's rules; HA1 = MD5(user:realm:password).
            if let user = cell("account") {
                if user.isEmpty { row.account = .some(nil) } else if user.utf8.count > 64 || user.contains(":") || user.contains("\"")
                    || user.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                    problem("account", "1 to 64 characters, no ':' (Basic splits there), no '\"', no control characters", value: user)
                } else {
                    row.account = user
                }
            }
            if let realm = cell("realm"), !realm.isEmpty {
                if realm.contains("\"") || realm.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                    problem("realm", "one line without '\"'")
                } else {
                    row.realm = realm
                }
            }
            if let ha1 = cell("ha1"), !ha1.isEmpty, ha1 != Secrets.mask {
                if ha1.utf8.count == 32 && ha1.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
                    row.ha1 = ha1
                } else {
                    problem("ha1", "32 lower-case hex digits, MD5(user:realm:password) as provctl export --show-secrets writes it")
                }
            }
            if case .some(nil) = row.account, row.realm != nil || row.ha1 != nil {
                problem("account", "realm or ha1 without an account")
            }
            if row.digest != nil && row.encryption == "aes128gcm" {
                problem("digest", "only with aes-256-cbc (aes128gcm derives its key with HKDF-SHA-256)")
            }
            if let position = positions["variables"] {
                do {
                    let pairs = try VariablesCell.parse(record.fields[position])
                    var names: Set<String> = []
                    for pair in pairs {
                        do {
                            try ParameterRules.checkVariable(name: pair.name, value: pair.value)
                        } catch {
                            problem("variables", "\(pair.name): \(error.rule)")
                        }
                        if !names.insert(pair.name).inserted { problem("variables", "variable \(pair.name) given twice") }
                    }
                    row.variables = pairs.sorted { $0.name < $1.name }
                } catch {
                    problem("variables", "each part must be name=value, separated by ;")
                }
            }
            for (name, position) in variableColumns {
                let value = record.fields[position]
                if value.isEmpty {
                    row.variableCells.append((name, nil))
                    continue
                }
                do {
                    try ParameterRules.checkVariable(name: name, value: value)
                    row.variableCells.append((name, value))
                } catch {
                    problem("var:" + name, error.rule)
                }
            }
            for (setting, position) in settingColumns {
                let value = record.fields[position]
                var cell = SettingCell(column: setting, value: value)
                if let uaPosition = uaColumns[setting] {
                    let ua = record.fields[uaPosition].trimmingSpacesAndTabs
                    if ua.isEmpty { cell.access = .some(nil) } else if let access = UserAccess(rawValue: ua.lowercased()) {
                        cell.access = access
                    } else {
                        problem("ua:" + setting.spelled, "na, ro or rw (empty: none)", value: ua)
                    }
                }
                if let intentPosition = intentColumns[setting] {
                    let intent = record.fields[intentPosition].trimmingSpacesAndTabs
                    if !intent.isEmpty {
                        if let parsed = EmptyIntent(rawValue: intent.lowercased()) { cell.intent = parsed } else {
                            problem("intent:" + setting.spelled, "empty (<X></X>) or keep (<X/>), for an empty value", value: intent)
                        }
                        if !value.isEmpty { problem("intent:" + setting.spelled, "only for an empty set: cell") }
                    }
                }
                if value.isEmpty && cell.intent == nil {
                    // No value and no intent: the setting is removed.
                    cell.value = nil
                    if case .some(.some) = cell.access { problem("ua:" + setting.spelled, "a ua for a setting the row removes (intent empty or keep keeps it)") }
                } else if !value.isEmpty && value != Secrets.mask {  // *** is checked against what is stored when applied
                    do {
                        _ = try ParameterRules.check(name: setting.name, value: value)
                    } catch {
                        problem("set:" + setting.spelled, error.rule)
                    }
                }
                row.settingCells.append(cell)
            }
            if !bad { rows.append(row) }
        }
        return (rows, problems)
    }

    /// Writes the rows with statements prepared once; a row whose cells cannot be applied to what is stored
    /// (a *** with nothing stored, a key for a device without encryption) is a problem and is not written.
    static func apply(_ rows: [Row], to store: ConfigurationEditor, audit: AuditRecorder, secretNames: Set<String>,
                      problems: inout [Failure.Problem]) throws -> Counts {
        let database = store.database
        let select = try database.prepare("SELECT \(ConfigurationStore.deviceColumns) FROM devices WHERE mac = ?1")
        let insert = try database.prepare(ConfigurationEditor.insertDeviceSQL)
        let update = try database.prepare(ConfigurationEditor.updateDeviceSQL)
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
        let progress = stdoutIsTerminal
        var counts = Counts()
        var accountUsers: [String: Int] = [:]
        func shownVariables(_ pairs: [(name: String, value: String)]) -> String {
            VariablesCell.format(pairs.map { pair in
                (pair.name, secretNames.contains(pair.name) ? Secrets.mask : Secrets.mask(variable: pair.name, value: pair.value))
            })
        }
        for (offset, row) in rows.enumerated() {
            if progress && offset % 1000 == 0 { progressLine("importing \(offset)/\(rows.count)") }
            let mac = row.mac.hex
            select.reset()
            try select.bind(1, mac)
            let old: Device? = try select.step() ? ConfigurationStore.device(from: select) : nil
            var device = old ?? Device(mac: row.mac)
            if let serial = row.serial { device.serial = serial }
            if let model = row.model { device.model = model }
            if let group = row.group { device.group = group }
            if let enabled = row.enabled { device.enabled = enabled }
            if let gzip = row.gzip { device.gzip = gzip }
            var rowProblems: [Failure.Problem] = []
            // Encryption: the wanted cipher, then the key (given, else the stored one) and the digest.
            var storedKey: String?, storedDigest = KeyDerivationDigest.sha256
            if case .aes256cbc(let key, let digest) = old?.encryption { storedKey = key; storedDigest = digest }
            let storedCipher = old.map(\.encryption.name).flatMap { $0 == "none" ? nil : $0 }
            let cipher = row.encryption ?? storedCipher ?? (row.key != nil ? "aes-256-cbc" : "none")
            func problem(_ field: String, _ rule: String) { rowProblems.append(Failure.Problem(line: row.line, field: field, rule: rule)) }
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
            if let weak = BootstrapKeyRule.problem(device) { rowProblems.append(Failure.Problem(line: row.line, field: "key", rule: weak)) }
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
                        rowProblems.append(Failure.Problem(line: row.line, field: row.variables != nil ? "variables" : "var:" + wanted[index].name,
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
        if progress { progressLine("") }
        try database.execute(UndoLog.temporaryTriggers)
        store.undoMark = mark
        return counts
    }
}
