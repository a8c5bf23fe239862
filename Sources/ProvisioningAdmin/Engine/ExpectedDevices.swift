public import Provisioning

/// Expected devices (issue 25): an order list read into `expected` rows (`provctl expect import`, `POST
/// /api/v1/expected`), listed, removed; adoption rules; and the promotion of a phone that was served from an
/// entry or a rule on its first contact into a device (`Onboarding`).
public enum ExpectedDevices {
    /// The columns an order list may have besides `var:NAME` ones: `provctl import`'s names and rules.
    public static let columns = ["mac", "serial", "model", "group", "variables"]

    /// One validated line of an order list.
    public struct Row: Sendable {
        public var line: Int
        public var mac: MACAddress?
        public var serial: String?
        public var model: String?
        public var group: String?
        /// Sorted by name.
        public var variables: [(name: String, value: String)] = []

        /// The entry this line makes.
        public var entry: ExpectedEntry {
            ExpectedEntry(key: mac.map(ExpectedEntry.key(mac:)) ?? ExpectedEntry.key(serial: serial ?? ""), serial: serial,
                          model: model, group: group, variables: VariablesCell.format(variables))
        }
    }

    /// Validates every record of an order list (RFC 4180 CSV, the header naming the columns): the good rows, and a
    /// problem (line, column, rule) for every bad cell. A bad header refuses the whole file.
    public static func rows(_ records: [CSV.Record]) throws -> ([Row], [AdminError.Problem]) {
        guard let header = records.first else {
            throw AdminError(.refused, "the file is empty (a header line is required)", field: "header", rule: "a header line")
        }
        var positions: [String: Int] = [:]
        var variableColumns: [(name: String, position: Int)] = []
        for (index, name) in header.fields.enumerated() {
            let column = name.trimmingSpacesAndTabs.lowercased()
            if column.hasPrefix("var:") {
                variableColumns.append((try DeviceImport.variableColumn(name, line: header.line, among: variableColumns), index))
                continue
            }
            guard columns.contains(column) else {
                var message = "line \(header.line): unknown column \"\(name)\""
                if let close = DeviceFieldRules.suggestion(for: column, among: columns) { message += " (did you mean \(close)?)" }
                throw AdminError(.refused, message + "; columns are " + columns.joined(separator: ", ") + ", var:NAME",
                                 field: name, rule: "a known column")
            }
            guard positions[column] == nil else {
                throw AdminError(.refused, "line \(header.line): column \(column) given twice", field: column, rule: "each column once")
            }
            positions[column] = index
        }
        guard positions["mac"] != nil || positions["serial"] != nil else {
            throw AdminError(.refused, "line \(header.line): no mac and no serial column", field: "mac",
                             rule: "a mac or a serial column is required")
        }
        if positions["variables"] != nil && !variableColumns.isEmpty {
            throw AdminError(.refused, "line \(header.line): a variables column and var: columns together", field: "variables",
                             rule: "either variables or var:NAME columns")
        }
        var rows: [Row] = []
        var problems: [AdminError.Problem] = []
        var macs: [MACAddress: Int] = [:], serialLines: [String: Int] = [:]
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
            func cell(_ column: String) -> String? {
                positions[column].map { record.fields[$0].trimmingSpacesAndTabs }.flatMap { $0.isEmpty ? nil : $0 }
            }
            func field(_ column: String) -> String? {
                guard let value = cell(column) else { return nil }
                do {
                    try DeviceFieldRules.check(field: column, value: value)
                } catch {
                    problem(column, error.rule, value: value)
                }
                return value
            }
            var row = Row(line: line, mac: nil, serial: field("serial"), model: field("model"), group: field("group"))
            if let text = cell("mac") {
                if let mac = MACAddress(text) {
                    row.mac = mac
                    if let first = macs.updateValue(line, forKey: mac) { problem("mac", "\(mac) already on line \(first)") }
                } else {
                    problem("mac", "not a MAC address (12 hex digits, optionally separated by : - or .)", value: text)
                }
            } else if row.serial == nil {
                problem(positions["mac"] != nil ? "mac" : "serial", "a mac, or a serial with its model")
            } else if row.model == nil {
                problem("model", "a line without a mac needs the model: a serial is matched together with the certificate's product")
            }
            if let serial = row.serial {
                let key = serial.uppercased()
                if let first = serialLines[key] { problem("serial", "\(serial) already on line \(first)") } else { serialLines[key] = line }
            }
            if let position = positions["variables"] {
                row.variables = DeviceImport.variablesCell(record.fields[position]) { problem("variables", $0) }
            }
            for (name, position) in variableColumns where !record.fields[position].isEmpty {
                let value = record.fields[position]
                do {
                    try ParameterRules.checkVariable(name: name, value: value)
                    row.variables.append((name, value))
                } catch {
                    problem("var:" + name, error.rule)
                }
            }
            row.variables.sort { $0.name < $1.name }
            if !bad { rows.append(row) }
        }
        return (rows, problems)
    }
}
