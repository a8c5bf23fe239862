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
        try DeviceImport.prepareForBulkWrites(opened)
        try warnIfNew("model", Set(rows.compactMap { $0.model ?? nil }), in: opened)
        try warnIfNew("group", Set(rows.compactMap { $0.group ?? nil }), in: opened)
        let secretNames = try secretVariableNames(opened)
        var counts = DeviceImport.Counts()
        let macs = Set(rows.map(\.mac))
        var skipped: [Failure.Problem] = []
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { .some(macs) }) { audit in
            counts = try DeviceImport.apply(rows, to: opened, audit: audit, secretNames: secretNames, problems: &problems,
                                           progress: stdoutIsTerminal ? { progressLine("importing \($0)/\($1)") } : nil)
            if stdoutIsTerminal { progressLine("") }
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

    /// Validates every record: the good rows, and a problem (line, column, rule) for every bad cell. A bad header
    /// refuses the whole file.
    static func rows(_ records: [CSV.Record]) throws -> ([DeviceImport.Row], [Failure.Problem]) {
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
        var rows: [DeviceImport.Row] = []
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
