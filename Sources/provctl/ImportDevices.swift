import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct ImportDevices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add or update devices from a CSV file, all or nothing.",
        discussion: """
            The file is RFC 4180 CSV (UTF-8; commas; fields with commas, quotes or line breaks in double quotes, \
            inner quotes doubled). The first line names the columns, in any order: mac (required), serial, model, \
            group, enabled, variables.
              mac        any spelling (000e08abcdef, 00:0E:08:AB:CD:EF, ...); each MAC at most once
              serial, model, group   empty means none
              enabled    yes/no (also true/false, 1/0); empty means yes
              variables  the device-scope {{variables}}: name=value;name=value, with \\; for a ; and \\\\ for a \\ \
            inside a value. When the column is present it replaces the device's variables (an empty cell removes \
            them); a value *** (as `provctl export` writes a secret) keeps the stored value.
            A new MAC is added (no encryption, no gzip); a known one has the columns present updated and keeps \
            the rest (encryption, gzip). A claim of an imported MAC is settled. The whole file is one transaction: \
            any bad row refuses the import, naming its line, and the database is left as it was. A progress line \
            is shown when stdout is a terminal.
            Example: provctl import devices.csv --dry-run
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The CSV file ('-' for stdin).") var file: String

    static let columns = ["mac", "serial", "model", "group", "enabled", "variables"]

    /// One validated row. `nil` fields are columns the file does not have.
    struct Row {
        var line: Int
        var mac: MACAddress
        var serial: String??
        var model: String??
        var group: String??
        var enabled: Bool?
        var variables: [(name: String, value: String)]?
    }

    func run() throws {
        let bytes = file == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile()) : try readFile(file)
        let rows = try Self.rows(CSV.records(bytes))
        let opened = try store.open()
        // A large file touches many pages in one transaction: keep them in memory rather than spilling to the WAL
        // before the commit (128 MiB at most, for this connection only).
        try opened.database.execute("PRAGMA cache_size = -131072")
        let secretNames = try secretVariableNames(opened)
        var counts = (added: 0, changed: 0, unchanged: 0)
        let macs = Set(rows.map(\.mac))
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { .some(macs) }) { audit in
            counts = try Self.apply(rows, to: opened, audit: audit, secretNames: secretNames)
        }
        print("imported \(rows.count) row(s): \(counts.added) added, \(counts.changed) changed, \(counts.unchanged) unchanged")
    }

    /// Validates every record into a row; the first bad one is a `Failure(.refused)` naming its line.
    static func rows(_ records: [CSV.Record]) throws -> [Row] {
        guard let header = records.first else { throw Failure(.refused, "the file is empty (a header line is required)") }
        var positions: [String: Int] = [:]
        for (index, name) in header.fields.enumerated() {
            let column = name.trimmingSpacesAndTabs.lowercased()
            guard columns.contains(column) else {
                throw Failure(.refused, "line \(header.line): unknown column \"\(name)\"; columns are " + columns.joined(separator: ", "))
            }
            guard positions[column] == nil else { throw Failure(.refused, "line \(header.line): column \(column) given twice") }
            positions[column] = index
        }
        guard let macColumn = positions["mac"] else { throw Failure(.refused, "line \(header.line): no mac column") }
        var rows: [Row] = []
        rows.reserveCapacity(records.count)
        var seen: [MACAddress: Int] = [:]
        seen.reserveCapacity(records.count)
        for record in records.dropFirst() {
            let line = record.line
            guard record.fields.count == header.fields.count else {
                throw Failure(.refused, "line \(line): \(record.fields.count) field(s), the header has \(header.fields.count)")
            }
            let macText = record.fields[macColumn].trimmingSpacesAndTabs
            guard let mac = MACAddress(macText) else {
                throw Failure(.refused, "line \(line): mac \"\(macText)\" is not a MAC address")
            }
            if let first = seen.updateValue(line, forKey: mac) {
                throw Failure(.refused, "line \(line): mac \(mac) already on line \(first)")
            }
            func text(_ column: String) throws -> String?? {
                guard let position = positions[column] else { return nil }
                let value = record.fields[position].trimmingSpacesAndTabs
                if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                    throw Failure(.refused, "line \(line): \(column) holds a control character")
                }
                return .some(value.isEmpty ? nil : value)
            }
            var row = Row(line: line, mac: mac, serial: try text("serial"), model: try text("model"), group: try text("group"))
            if let position = positions["enabled"] {
                switch record.fields[position].trimmingSpacesAndTabs.lowercased() {
                case "", "yes", "true", "1": row.enabled = true
                case "no", "false", "0": row.enabled = false
                case let other: throw Failure(.refused, "line \(line): enabled \"\(other)\" is not yes or no")
                }
            }
            if let position = positions["variables"] {
                let pairs: [(name: String, value: String)]
                do {
                    pairs = try VariablesCell.parse(record.fields[position])
                } catch {
                    throw Failure(.refused, "line \(line): variables: each part must be name=value, separated by ;")
                }
                var names: Set<String> = []
                for pair in pairs {
                    try checkVariable(name: pair.name, value: pair.value, source: "line \(line)")
                    guard names.insert(pair.name).inserted else {
                        throw Failure(.refused, "line \(line): variable \(pair.name) given twice")
                    }
                }
                row.variables = pairs.sorted { $0.name < $1.name }
            }
            rows.append(row)
        }
        return rows
    }

    /// Writes the rows with statements prepared once; returns how many were added, changed and unchanged.
    static func apply(_ rows: [Row], to store: DeviceStore, audit: AuditRecorder,
                      secretNames: Set<String>) throws -> (added: Int, changed: Int, unchanged: Int) {
        let database = store.database
        let select = try database.prepare("""
            SELECT \(DeviceStore.deviceColumns) FROM devices WHERE mac = ?1
            """)
        let insert = try database.prepare("INSERT INTO devices (mac, serial, model, group_name, enabled) VALUES (?1, ?2, ?3, ?4, ?5)")
        let update = try database.prepare("""
            UPDATE devices SET serial = ?2, model = ?3, group_name = ?4, enabled = ?5,
                updated_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE mac = ?1
            """)
        let selectVariables = try database.prepare("SELECT name, value FROM variables WHERE scope = 'device' AND target = ?1 ORDER BY name")
        let deleteVariables = try database.prepare("DELETE FROM variables WHERE scope = 'device' AND target = ?1")
        let insertVariable = try database.prepare("INSERT INTO variables (scope, target, name, value) VALUES ('device', ?1, ?2, ?3)")
        let auditRow = try database.prepare("""
            INSERT INTO audit (at, who, action, target, old_value, new_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """)
        let progress = stdoutIsTerminal
        var counts = (added: 0, changed: 0, unchanged: 0)
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
            var old: Device?
            if try select.step() { old = try DeviceStore.device(from: select) }
            var device = old ?? Device(mac: row.mac)
            if let serial = row.serial { device.serial = serial }
            if let model = row.model { device.model = model }
            if let group = row.group { device.group = group }
            if let enabled = row.enabled { device.enabled = enabled }
            var oldVariables: [(name: String, value: String)] = []
            var newVariables: [(name: String, value: String)]?
            if var wanted = row.variables {
                if old != nil {
                    selectVariables.reset()
                    try selectVariables.bind(1, mac)
                    while try selectVariables.step() {
                        oldVariables.append((selectVariables.text(0) ?? "", selectVariables.text(1) ?? ""))
                    }
                }
                for index in wanted.indices where wanted[index].value == Secrets.mask {
                    guard let stored = oldVariables.first(where: { $0.name == wanted[index].name }) else {
                        throw Failure(.refused, "line \(row.line): variable \(wanted[index].name) is *** (a masked export) "
                                      + "and has no stored value to keep; export with --show-secrets")
                    }
                    wanted[index].value = stored.value
                }
                let same = wanted.count == oldVariables.count
                    && zip(wanted, oldVariables).allSatisfy { $0.name == $1.name && $0.value == $1.value }
                if !same { newVariables = wanted }
            }
            if let old, old == device, newVariables == nil {
                counts.unchanged += 1
                continue
            }
            let statement = old == nil ? insert : update
            statement.reset()
            try statement.bind([.text(mac), device.serial.map { .text($0) } ?? .null, device.model.map { .text($0) } ?? .null,
                                device.group.map { .text($0) } ?? .null, .integer(device.enabled ? 1 : 0)])
            try statement.step()
            if let newVariables {
                deleteVariables.reset()
                try deleteVariables.bind(1, mac)
                try deleteVariables.step()
                for pair in newVariables {
                    insertVariable.reset()
                    try insertVariable.bind([.text(mac), .text(pair.name), .text(pair.value)])
                    try insertVariable.step()
                }
            }
            var oldText = old.map { describe($0) }
            var newText = describe(device)
            if let newVariables {
                oldText = (oldText ?? "") + " variables=" + shownVariables(oldVariables)
                newText += " variables=" + shownVariables(newVariables)
            }
            if old == nil {
                counts.added += 1
            } else {
                counts.changed += 1
            }
            auditRow.reset()
            try auditRow.bind([.integer(audit.now), .text(audit.who), .text(old == nil ? "import add" : "import edit"),
                               .text(mac), oldText.map { .text($0) } ?? .null, .text(newText)])
            try auditRow.step()
        }
        if progress { progressLine("") }
        return counts
    }
}
