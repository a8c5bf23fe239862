public import Provisioning

/// The devices CSV's reading and row validation (`provctl import`, an upload to the HTTP API): the same rules
/// and the same problems (line, column, rule) for every caller, before anything is written.
extension DeviceImport {
    /// The columns a devices CSV may have besides var:, set:, ua: and intent: ones (`kdf` is read as `digest`).
    public static let columns = ["mac", "serial", "model", "group", "enabled", "gzip", "encryption", "key", "digest", "key_id",
                                 "record_size", "bootstrap", "account", "realm", "ha1", "variables"]

    /// The delimiter a `--delimiter` value names: , ; or tab; nil for anything else.
    public static func delimiterByte(_ text: String) -> UInt8? {
        switch text {
        case ",": UInt8(ascii: ",")
        case ";": UInt8(ascii: ";")
        case "tab", "\t", "\\t": 0x09
        default: nil
        }
    }

    /// The records of a devices CSV: `delimiter` or, when nil, the one found from the header line. A cell export
    /// wrote with a ' in front (a spreadsheet formula, neutralised) is read without it.
    public static func records(_ bytes: [UInt8], delimiter: UInt8? = nil) throws -> [CSV.Record] {
        try CSV.records(bytes, delimiter: delimiter ?? CSV.sniffDelimiter(bytes)).map { record in
            var record = record
            record.fields = record.fields.map(CSV.unneutralised)
            return record
        }
    }

    /// Validates every record: the good rows, and a problem (line, column, rule) for every bad cell. A bad header
    /// refuses the whole file.
    public static func rows(_ records: [CSV.Record]) throws -> ([DeviceImport.Row], [AdminError.Problem]) {
        guard let header = records.first else {
            throw AdminError(.refused, "the file is empty (a header line is required)", field: "header", rule: "a header line")
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
                        throw AdminError(.refused, "line \(header.line): column \"\(name)\": \"\(partition)\" is not a partition name",
                                      field: name, rule: "\(kind)PART/NAME: PART is 1 to \(Partition.maximumLength) of a-z 0-9 _")
                    }
                }
                guard XMLText.isValidName(parameter) else {
                    throw AdminError(.refused, "line \(header.line): column \"\(name)\": not a parameter name", field: name,
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
                    throw AdminError(.refused, "line \(header.line): column \(name) given twice", field: name, rule: "each column once")
                }
                continue
            }
            if column.hasPrefix("var:") {
                variableColumns.append((try variableColumn(name, line: header.line, among: variableColumns), index))
                continue
            }
            guard columns.contains(column) else {
                var message = "line \(header.line): unknown column \"\(name)\""
                if let close = DeviceFieldRules.suggestion(for: column, among: columns) { message += " (did you mean \(close)?)" }
                if name.contains(";") || name.contains("\t") { message += "; is the delimiter right? (--delimiter)" }
                throw AdminError(.refused, message + "; columns are " + columns.joined(separator: ", ")
                              + ", var:NAME, set:NAME, ua:NAME, intent:NAME (PART/NAME for a partition)",
                              field: name, rule: "a known column")
            }
            guard positions[column] == nil else {
                throw AdminError(.refused, "line \(header.line): column \(column) given twice", field: column, rule: "each column once")
            }
            positions[column] = index
        }
        for (setting, _) in uaColumns.merging(intentColumns, uniquingKeysWith: { a, _ in a })
        where !settingColumns.contains(where: { $0.column == setting }) {
            throw AdminError(.refused, "line \(header.line): column ua:/intent:\(setting.spelled) without set:\(setting.spelled)",
                          field: "set:" + setting.spelled, rule: "ua: and intent: columns belong to a set: column")
        }
        guard let macColumn = positions["mac"] else {
            throw AdminError(.refused, "line \(header.line): no mac column", field: "mac", rule: "a mac column is required")
        }
        if positions["variables"] != nil && !variableColumns.isEmpty {
            throw AdminError(.refused, "line \(header.line): a variables column and var: columns together", field: "variables",
                          rule: "either variables or var:NAME columns")
        }
        var rows: [DeviceImport.Row] = []
        rows.reserveCapacity(records.count)
        var problems: [AdminError.Problem] = []
        var seen: [MACAddress: Int] = [:]
        seen.reserveCapacity(records.count)
        for record in records.dropFirst() {
            let line = record.line
            var bad = false
            func problem(_ column: String, _ rule: String, value: String? = nil) {
                problems.append(AdminError.Problem(line: line, field: column, value: value, rule: rule))
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
            var row = DeviceImport.Row(line: line, mac: mac, serial: field("serial"), model: field("model"), group: field("group"))
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
                row.variables = variablesCell(record.fields[position]) { problem("variables", $0) }.sorted { $0.name < $1.name }
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
                var cell = DeviceImport.SettingCell(column: setting, value: value)
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
}

extension DeviceImport {
    /// The variable a `var:NAME` header cell names, checked; a bad name, or one of `columns` again, refuses the
    /// file (the devices CSV and the order list of `provctl expect import` alike).
    static func variableColumn(_ name: String, line: Int, among columns: [(name: String, position: Int)]) throws -> String {
        let variable = String(name.trimmingSpacesAndTabs.dropFirst(4))
        do {
            try ParameterRules.checkVariable(name: variable, value: "")
        } catch {
            throw AdminError(.refused, "line \(line): column \"\(name)\": \(error.rule)", field: name, rule: error.rule)
        }
        guard !columns.contains(where: { $0.name == variable }) else {
            throw AdminError(.refused, "line \(line): column \(name) given twice", field: name, rule: "each column once")
        }
        return variable
    }

    /// The pairs of a `variables` cell, each checked; every problem goes to `problem` (its rule).
    static func variablesCell(_ text: String, problem: (String) -> Void) -> [(name: String, value: String)] {
        do {
            let pairs = try VariablesCell.parse(text)
            var names: Set<String> = []
            for pair in pairs {
                do {
                    try ParameterRules.checkVariable(name: pair.name, value: pair.value)
                } catch {
                    problem("\(pair.name): \(error.rule)")
                }
                if !names.insert(pair.name).inserted { problem("variable \(pair.name) given twice") }
            }
            return pairs
        } catch {
            problem("each part must be name=value, separated by ;")
            return []
        }
    }
}
