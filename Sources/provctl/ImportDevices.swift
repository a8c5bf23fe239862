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
              encryption   none or aes-256-cbc; empty keeps what is stored (none for a new device)
              key          the passphrase, as in the phone's [--key ...]; *** (as a masked export writes it) or
                           empty keeps the stored key
              digest       the key derivation digest, md5 or sha256 (kdf is accepted too); empty: sha256
              var:NAME     the device's {{NAME}}; an empty cell removes it; *** keeps the stored value
              set:NAME     the device-scope setting NAME (main profile); an empty cell removes it; *** keeps the
                           stored value (what provctl export writes)
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

    static let columns = ["mac", "serial", "model", "group", "enabled", "gzip", "encryption", "key", "digest", "variables"]

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
        /// "none" or "aes-256-cbc"; nil: keep.
        var encryption: String?
        /// nil: no column or keep (empty, ***).
        var key: String?
        var digest: KeyDerivationDigest?
        /// The whole `variables` cell: replaces every device variable.
        var variables: [(name: String, value: String)]?
        /// `var:NAME` cells: a value sets, nil removes.
        var variableCells: [(name: String, value: String?)] = []
        /// `set:NAME` cells: the device-scope setting (main partition); a value sets, nil removes.
        var settingCells: [(name: String, value: String?)] = []
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
        var settingColumns: [(name: String, position: Int)] = []
        for (index, name) in header.fields.enumerated() {
            var column = name.trimmingSpacesAndTabs.lowercased()
            if column == "kdf" { column = "digest" }
            if column.hasPrefix("set:") {
                let parameter = String(name.trimmingSpacesAndTabs.dropFirst(4))
                guard XMLText.isValidName(parameter) else {
                    throw Failure(.refused, "line \(header.line): column \"\(name)\": not a parameter name", field: name, rule: "set:NAME names a parameter")
                }
                guard !settingColumns.contains(where: { $0.name == parameter }) else {
                    throw Failure(.refused, "line \(header.line): column \(name) given twice", field: name, rule: "each column once")
                }
                settingColumns.append((parameter, index))
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
                throw Failure(.refused, message + "; columns are " + columns.joined(separator: ", ") + ", var:NAME, set:NAME",
                              field: name, rule: "a known column")
            }
            guard positions[column] == nil else {
                throw Failure(.refused, "line \(header.line): column \(column) given twice", field: column, rule: "each column once")
            }
            positions[column] = index
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
                if encryption == "none" || encryption == "aes-256-cbc" { row.encryption = encryption } else {
                    problem("encryption", "none or aes-256-cbc", value: encryption)
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
            for (name, position) in settingColumns {
                let value = record.fields[position]
                if value.isEmpty {
                    row.settingCells.append((name, nil))
                } else if value == Secrets.mask {
                    row.settingCells.append((name, value))  // kept: checked against what is stored when applied
                } else {
                    do {
                        _ = try ParameterRules.check(name: name, value: value)
                        row.settingCells.append((name, value))
                    } catch {
                        problem("set:" + name, error.rule)
                    }
                }
            }
            if !bad { rows.append(row) }
        }
        return (rows, problems)
    }

    /// Writes the rows with statements prepared once; a row whose cells cannot be applied to what is stored
    /// (a *** with nothing stored, a key for a device without encryption) is a problem and is not written.
    static func apply(_ rows: [Row], to store: DeviceStore, audit: AuditRecorder, secretNames: Set<String>,
                      problems: inout [Failure.Problem]) throws -> Counts {
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
        let progress = stdoutIsTerminal
        var counts = Counts()
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
            let old: Device? = try select.step() ? DeviceStore.device(from: select) : nil
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
            let cipher = row.encryption ?? (row.key != nil ? "aes-256-cbc" : (storedKey != nil ? "aes-256-cbc" : "none"))
            if cipher == "none" {
                device.encryption = .none
            } else if let key = row.key ?? storedKey {
                device.encryption = .aes256cbc(key: key, digest: row.digest ?? storedDigest)
            } else {
                rowProblems.append(Failure.Problem(line: row.line, field: "key", rule: row.encryption == nil
                    ? "a key for a device without encryption: add encryption aes-256-cbc"
                    : "aes-256-cbc needs a key (*** keeps a stored one; this device has none: export with --show-secrets)"))
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
            // set:NAME cells against the device-scope settings stored (main partition).
            var settingChanges: [(name: String, old: Setting?, new: String?)] = []
            for (name, value) in row.settingCells {
                let stored = old == nil ? nil : try store.setting(scope: .device(row.mac), name: name)
                if value == Secrets.mask {
                    if stored == nil {
                        rowProblems.append(Failure.Problem(line: row.line, field: "set:" + name,
                            rule: "\(name) is *** (a masked export) and has no stored value to keep; export with --show-secrets"))
                    }
                    continue
                }
                if stored?.value != value { settingChanges.append((name, stored, value)) }
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
                if let value = change.new {
                    try store.set(Setting(scope: .device(row.mac), name: change.name, value: value, access: change.old?.access))
                } else {
                    try store.removeSetting(scope: .device(row.mac), name: change.name)
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
                func shown(_ name: String, _ value: String?) -> String { value.map { name + "=" + Secrets.mask(name: name, value: $0) } ?? name + " unset" }
                oldText = (oldText ?? "") + " settings: " + settingChanges.map { shown($0.name, $0.old?.value) }.joined(separator: ", ")
                newText += " settings: " + settingChanges.map { shown($0.name, $0.new) }.joined(separator: ", ")
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
