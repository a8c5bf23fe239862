#if canImport(Glibc)
import Glibc
#endif

/// The settings and variables that reach one device, kept as bytes: every name and value back to back in one
/// arena, and six integers per row. This is the form the merge works on, for the CGI and for `provctl` alike.
///
/// Why bytes: the CGI lives for one request, and measured with callgrind and perf the Swift side of a request was
/// mostly first-use costs, not work. Each array of a struct type (`[Setting]`, `[Variable]`, `[ResolvedParameter]`)
/// is a generic type the Swift runtime instantiates through its demangler the first time it is used (10-15k
/// instructions each, plus the cold code it pulls in), and a String per column is an allocation and a UTF-8 check
/// per column. Here a request uses two arrays of stdlib element types, `[UInt8]` and `[Int]`, whatever the number
/// of rows.
public struct LayerRows: Sendable {
    /// Names and values, back to back.
    var bytes: [UInt8] = []
    /// Per row, `stride` integers: kind (0 setting, 1 variable), rank (0 default … 3 device), name start, value
    /// start (= name end), value end, access code (`accessCode`, settings only).
    var table: [Int] = []
    static let stride = 6
    /// The targets of this device's model, group and device scopes: a row's scope is rebuilt from its rank.
    let model: String?
    let group: String?
    let mac: MACAddress
    /// The exact scope of each row, when the rows came from `Layers` (whose scopes the caller chose).
    var scopes: [Scope] = []

    init(model: String?, group: String?, mac: MACAddress) {
        self.model = model
        self.group = group
        self.mac = mac
        bytes.reserveCapacity(8192)
        table.reserveCapacity(256 * Self.stride)
    }

    /// The rows of `layers`, in their order, for a device with this model, group and MAC.
    public init(_ layers: Layers, model: String?, group: String?, mac: MACAddress) {
        self.init(model: model, group: group, mac: mac)
        scopes.reserveCapacity(layers.settings.count + layers.variables.count)
        for setting in layers.settings {
            append(kind: 0, rank: setting.scope.rank, name: setting.name, value: setting.value,
                   access: Self.accessCode(setting.access))
            scopes.append(setting.scope)
        }
        for variable in layers.variables {
            append(kind: 1, rank: variable.scope.rank, name: variable.name, value: variable.value, access: -1)
            scopes.append(variable.scope)
        }
    }

    /// The number of rows.
    public var count: Int { table.count / Self.stride }

    func kind(_ row: Int) -> Int { table[row * Self.stride] }
    func rank(_ row: Int) -> Int { table[row * Self.stride + 1] }
    func nameRange(_ row: Int) -> Range<Int> { table[row * Self.stride + 2]..<table[row * Self.stride + 3] }
    func valueRange(_ row: Int) -> Range<Int> { table[row * Self.stride + 3]..<table[row * Self.stride + 4] }
    func access(_ row: Int) -> Int { table[row * Self.stride + 5] }

    /// The scope the row was stored at.
    func scope(_ row: Int) -> Scope {
        if !scopes.isEmpty { return scopes[row] }
        switch rank(row) {
        case 0: return .all
        case 1: return .model(model ?? "")
        case 2: return .group(group ?? "")
        default: return .device(mac)
        }
    }

    func string(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    mutating func append(kind: Int, rank: Int, name: String, value: String, access: Int) {
        var name = name, value = value
        let nameStart = bytes.count
        name.withUTF8 { bytes.append(contentsOf: $0) }
        let valueStart = bytes.count
        value.withUTF8 { bytes.append(contentsOf: $0) }
        appendEntry(kind: kind, rank: rank, nameStart: nameStart, valueStart: valueStart, access: access)
    }

    /// Appends the current row of a `DeviceStore.layersQuery` statement (columns: kind, rank, name, value, ua).
    mutating func appendRow(of statement: SQLiteStatement, kind: Int, rank: Int) {
        let nameStart = bytes.count
        statement.appendText(2, to: &bytes)
        let valueStart = bytes.count
        statement.appendText(3, to: &bytes)
        appendEntry(kind: kind, rank: rank, nameStart: nameStart, valueStart: valueStart,
                    access: kind == 0 ? statement.accessCode(4) : -1)
    }

    private mutating func appendEntry(kind: Int, rank: Int, nameStart: Int, valueStart: Int, access: Int) {
        table.append(kind)
        table.append(rank)
        table.append(nameStart)
        table.append(valueStart)
        table.append(bytes.count)
        table.append(access)
    }

    /// -1 for none, else 0 `na`, 1 `ro`, 2 `rw`.
    static func accessCode(_ access: UserAccess?) -> Int {
        switch access {
        case nil: -1
        case .na: 0
        case .ro: 1
        case .rw: 2
        }
    }

    static func access(code: Int) -> UserAccess? {
        switch code {
        case 0: .na
        case 1: .ro
        case 2: .rw
        default: nil
        }
    }

    /// Byte-order comparison (`memcmp`, as SQLite's BINARY collation) of two rows' names.
    func compareNames(_ a: Int, _ b: Int) -> Int {
        let left = nameRange(a), right = nameRange(b)
        return bytes.withUnsafeBufferPointer { base in
            let common = min(left.count, right.count)
            if common > 0 {
                let order = memcmp(base.baseAddress! + left.lowerBound, base.baseAddress! + right.lowerBound, common)
                if order != 0 { return Int(order) }
            }
            return left.count - right.count
        }
    }

    func sameName(_ a: Int, _ b: Int) -> Bool { compareNames(a, b) == 0 }

    /// True when the row's name is `name`.
    func hasName(_ row: Int, _ name: String) -> Bool {
        var name = name
        let range = nameRange(row)
        return name.withUTF8 { wanted in
            wanted.count == range.count && bytes.withUnsafeBufferPointer { base in
                range.isEmpty || memcmp(base.baseAddress! + range.lowerBound, wanted.baseAddress!, range.count) == 0
            }
        }
    }
}

/// The merge's result: per parameter, in name order, the winning row, the access it inherited and its value with
/// every `{{variable}}` replaced (in `values`).
public struct ResolvedRows: Sendable {
    var values: [UInt8] = []
    /// Per parameter: row, access code, value start, value end.
    var table: [Int] = []
    static let stride = 4

    public var count: Int { table.count / Self.stride }
    func row(_ index: Int) -> Int { table[index * Self.stride] }
    func access(_ index: Int) -> Int { table[index * Self.stride + 1] }
    func valueRange(_ index: Int) -> Range<Int> { table[index * Self.stride + 2]..<table[index * Self.stride + 3] }
}

extension LayerRows {
    /// Merges the rows default → model → group → device (the later wins) for `device` as `identity` presents it:
    /// a winning row without `ua` inherits the `ua` of the scope below; names come out in byte order. An undefined
    /// variable, a loop between variables, or a parameter name XML cannot carry is a 500 that names it.
    public func resolve(device: Device, identity: ClientIdentity) throws(Refusal) -> ResolvedRows {
        let context = ExpansionContext(rows: self, builtIns: BuiltIns(device: device, identity: identity),
                                       fields: identity.fields)
        // The setting rows regrouped by scope (stably), each scope's run sorted by name, then a four-way merge: the
        // rows of one name meet in scope order and the last wins. The store hands each scope's rows over in
        // primary-key order, so the sorts only check.
        var order: [Int] = []
        order.reserveCapacity(count)
        var ends = [0, 0, 0, 0]
        for rank in 0..<4 {
            let start = order.count
            for row in 0..<count where kind(row) == 0 && self.rank(row) == rank { order.append(row) }
            var sorted = true
            var index = start + 1
            while index < order.count {
                if compareNames(order[index - 1], order[index]) > 0 {
                    sorted = false
                    break
                }
                index += 1
            }
            if !sorted { order[start...].sort { compareNames($0, $1) < 0 } }
            ends[rank] = order.count
        }
        var cursors = [0, ends[0], ends[1], ends[2]]
        var result = ResolvedRows()
        result.values.reserveCapacity(bytes.count + 1024)
        result.table.reserveCapacity(order.count * ResolvedRows.stride)
        while true {
            var smallest = -1
            for rank in 0..<4 where cursors[rank] < ends[rank] {
                if smallest < 0 || compareNames(order[cursors[rank]], smallest) < 0 { smallest = order[cursors[rank]] }
            }
            guard smallest >= 0 else { break }
            var access = -1
            var winner = -1
            for rank in 0..<4 where cursors[rank] < ends[rank] && sameName(order[cursors[rank]], smallest) {
                let row = order[cursors[rank]]
                if self.access(row) >= 0 { access = self.access(row) }
                winner = row
                cursors[rank] += 1
            }
            guard winner >= 0 else { break }
            guard isValidName(winner) else {
                throw .serverError("parameter name \"\(string(nameRange(winner)).prefix(64))\" at \(scope(winner)) is not a valid XML name")
            }
            let start = result.values.count
            try context.expand(valueRange(winner), depth: 0, into: &result.values)
            result.table.append(winner)
            result.table.append(access)
            result.table.append(start)
            result.table.append(result.values.count)
        }
        return result
    }

    /// `XMLText.isValidName` on the row's name bytes.
    func isValidName(_ row: Int) -> Bool {
        let range = nameRange(row)
        return bytes.withUnsafeBufferPointer { XMLText.isValidName(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The merged parameters as values, for `provctl` and the tests.
    func parameters(_ resolved: ResolvedRows) -> [ResolvedParameter] {
        var parameters: [ResolvedParameter] = []
        parameters.reserveCapacity(resolved.count)
        for index in 0..<resolved.count {
            let row = resolved.row(index)
            let value = resolved.values.withUnsafeBufferPointer {
                String(decoding: UnsafeBufferPointer(rebasing: $0[resolved.valueRange(index)]), as: UTF8.self)
            }
            parameters.append(ResolvedParameter(name: string(nameRange(row)), value: value,
                                                access: Self.access(code: resolved.access(index)), scope: scope(row),
                                                template: string(valueRange(row))))
        }
        return parameters
    }
}

/// The server variables: `{{mac}}`, `{{mac_upper}}`, `{{mac_colon}}`, `{{serial}}`, `{{model}}`, `{{group}}`.
struct BuiltIns {
    let device: Device
    let identity: ClientIdentity

    func value(_ name: String) -> String? {
        switch name {
        case "mac": device.mac.hex
        case "mac_upper": device.mac.upper
        case "mac_colon": device.mac.colon
        case "serial": device.serial ?? identity.serial ?? ""
        case "model": device.model ?? identity.model ?? ""
        case "group": device.group ?? ""
        default: nil
        }
    }
}

/// The `{{name}}` expander: server variables first, then `cert.*` fields, then the variables of the rows (the
/// highest scope wins).
struct ExpansionContext {
    let rows: LayerRows
    let builtIns: BuiltIns
    let fields: StringTable

    /// Variables may use variables; deeper than this is taken for a loop.
    static let maximumDepth = 8

    /// Appends the bytes of `range` with each `{{ name }}` replaced. A `{{` with no `}}` is left as it is.
    func expand(_ range: Range<Int>, depth: Int, into out: inout [UInt8]) throws(Refusal) {
        guard depth <= Self.maximumDepth else {
            throw .serverError("variables nest deeper than \(Self.maximumDepth) (a loop?)")
        }
        let bytes = rows.bytes
        let hasBrace = bytes.withUnsafeBufferPointer { base in
            range.count >= 4 && memchr(base.baseAddress! + range.lowerBound, Int32(UInt8(ascii: "{")), range.count) != nil
        }
        guard hasBrace else {
            bytes.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
            return
        }
        var index = range.lowerBound
        while index < range.upperBound {
            if bytes[index] == UInt8(ascii: "{"), index + 1 < range.upperBound, bytes[index + 1] == UInt8(ascii: "{"),
               let close = Self.closing(bytes, from: index + 2, end: range.upperBound) {
                let name = rows.string((index + 2)..<close).trimmingSpaces
                try lookup(name, depth: depth, into: &out)
                index = close + 2
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
    }

    /// Appends the value of `name`.
    func lookup(_ name: String, depth: Int, into out: inout [UInt8]) throws(Refusal) {
        if var value = builtIns.value(name) {
            value.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        if name.hasPrefix("cert.") {
            let field = String(name.dropFirst(5)).lowercased()
            if var value = fields[field] {
                value.withUTF8 { out.append(contentsOf: $0) }
                return
            }
            // A standard attribute this certificate lacks reads as empty, as mod_ssl's unset variable would.
            if ClientIdentity.isKnownFieldName(field) { return }
            throw .serverError("undefined variable {{\(name)}}")
        }
        var found = -1
        for row in 0..<rows.count where rows.kind(row) == 1 && rows.hasName(row, name) {
            if found < 0 || rows.rank(row) >= rows.rank(found) { found = row }
        }
        guard found >= 0 else { throw .serverError("undefined variable {{\(name)}}") }
        try expand(rows.valueRange(found), depth: depth + 1, into: &out)
    }

    /// The index of the `}}` closing a `{{` whose name starts at `start`; nil when another `{{` or the end comes
    /// first.
    static func closing(_ bytes: [UInt8], from start: Int, end: Int) -> Int? {
        var index = start
        while index + 1 < end {
            if bytes[index] == UInt8(ascii: "}") && bytes[index + 1] == UInt8(ascii: "}") { return index }
            if bytes[index] == UInt8(ascii: "{") && bytes[index + 1] == UInt8(ascii: "{") { return nil }
            index += 1
        }
        return nil
    }
}
