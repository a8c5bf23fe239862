#if canImport(Glibc)
import func Glibc.memchr
import func Glibc.memcmp
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
    /// Per row, `stride` integers: kind (`RowKind`), rank (`Scope.Rank`), name start, value start (= name end),
    /// value end, access (`AccessCode`, settings only), intent code (`intentCode`).
    var table: [Int] = []
    static let stride = 7
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
            append(kind: .setting, rank: setting.scope.rank, name: setting.name, value: setting.value,
                   access: AccessCode(setting.access), intent: Self.intentCode(setting.intent))
            scopes.append(setting.scope)
        }
        for variable in layers.variables {
            append(kind: .variable, rank: variable.scope.rank, name: variable.name, value: variable.value, access: .none)
            scopes.append(variable.scope)
        }
    }

    /// The number of rows.
    public var count: Int { table.count / Self.stride }

    /// True when any row is a setting (not a variable).
    public var hasSettings: Bool {
        var row = 0
        while row < count {
            if table[row * Self.stride] == RowKind.setting.rawValue { return true }
            row += 1
        }
        return false
    }

    func rank(_ row: Int) -> Scope.Rank { Scope.Rank(rawValue: table[row * Self.stride + 1]) ?? .device }
    func nameRange(_ row: Int) -> Range<Int> { table[row * Self.stride + 2]..<table[row * Self.stride + 3] }
    func valueRange(_ row: Int) -> Range<Int> { table[row * Self.stride + 3]..<table[row * Self.stride + 4] }
    func intent(_ row: Int) -> Int { table[row * Self.stride + 6] }

    /// The scope the row was stored at.
    func scope(_ row: Int) -> Scope {
        if !scopes.isEmpty { return scopes[row] }
        switch rank(row) {
        case .all: return .all
        case .model: return .model(model ?? "")
        case .group: return .group(group ?? "")
        case .device: return .device(mac)
        }
    }

    func string(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    mutating func append(kind: RowKind, rank: Scope.Rank, name: String, value: String, access: AccessCode,
                         intent: Int = 0) {
        var name = name, value = value
        let nameStart = bytes.count
        name.withUTF8 { bytes.append(contentsOf: $0) }
        let valueStart = bytes.count
        value.withUTF8 { bytes.append(contentsOf: $0) }
        appendEntry(kind: kind, rank: rank, nameStart: nameStart, valueStart: valueStart, access: access, intent: intent)
    }

    /// Appends the current row of a `ConfigurationStore.scopeQuery` statement (columns: kind, name, value, ua, intent;
    /// one column per fact: each result column costs its names when the statement is prepared).
    mutating func appendRow(of statement: SQLiteStatement, kind: RowKind, rank: Scope.Rank) {
        let nameStart = bytes.count
        statement.appendText(1, to: &bytes)
        let valueStart = bytes.count
        statement.appendText(2, to: &bytes)
        appendEntry(kind: kind, rank: rank, nameStart: nameStart, valueStart: valueStart,
                    access: kind == .setting ? statement.accessCode(3) : .none,
                    // Only an empty value has an intent: the column is not read for the others.
                    intent: kind == .setting && valueStart == bytes.count ? statement.intentCode(4) : 0)
    }

    private mutating func appendEntry(kind: RowKind, rank: Scope.Rank, nameStart: Int, valueStart: Int, access: AccessCode,
                                      intent: Int) {
        table.append(kind.rawValue)
        table.append(rank.rawValue)
        table.append(nameStart)
        table.append(valueStart)
        table.append(bytes.count)
        table.append(access.rawValue)
        table.append(intent)
    }

    /// 0 unknown (or not empty), 1 `empty`, 2 `keep`.
    static func intentCode(_ intent: EmptyIntent?) -> Int {
        switch intent {
        case nil: 0
        case .empty: 1
        case .keep: 2
        }
    }

    static func intent(code: Int) -> EmptyIntent? {
        switch code {
        case 1: .empty
        case 2: .keep
        default: nil
        }
    }

}

/// The merge's result: per parameter, in name order, the winning row, the access it inherited and its value with
/// every `{{variable}}` replaced (in `values`).
public struct ResolvedRows: Sendable {
    var values: [UInt8] = []
    /// Per parameter: row, access (`AccessCode`), value start, value end.
    var table: [Int] = []
    static let stride = 4

    public var count: Int { table.count / Self.stride }
    func row(_ index: Int) -> Int { table[index * Self.stride] }
    func access(_ index: Int) -> AccessCode { AccessCode(rawValue: table[index * Self.stride + 1]) ?? .none }
    func valueRange(_ index: Int) -> Range<Int> { table[index * Self.stride + 2]..<table[index * Self.stride + 3] }
}

extension LayerRows {
    /// Merges the rows default → model → group → device (the later wins) for `device` as `identity` presents it:
    /// a winning row without `ua` inherits the `ua` of the scope below; names come out in byte order. An undefined
    /// variable, a loop between variables, or a parameter name XML cannot carry is a `SettingsError` that names it.
    public func resolve(device: Device, identity: ClientIdentity) throws(SettingsError) -> ResolvedRows {
        try bytes.withUnsafeBufferPointer { (arena) throws(SettingsError) -> ResolvedRows in
            try table.withUnsafeBufferPointer { (table) throws(SettingsError) -> ResolvedRows in
                try Resolver(count: count, arena: arena, table: table,
                             builtIns: BuiltIns(device: device, identity: identity), fields: identity.fields).resolve(self)
            }
        }
    }

    /// The merged parameters as values, for `provctl` and the tests.
    package func parameters(_ resolved: ResolvedRows) -> [ResolvedParameter] {
        var parameters: [ResolvedParameter] = []
        parameters.reserveCapacity(resolved.count)
        for index in 0..<resolved.count {
            let row = resolved.row(index)
            let value = resolved.values.withUnsafeBufferPointer {
                String(decoding: UnsafeBufferPointer(rebasing: $0[resolved.valueRange(index)]), as: UTF8.self)
            }
            parameters.append(ResolvedParameter(name: string(nameRange(row)), value: value,
                                                access: resolved.access(index).access, scope: scope(row),
                                                template: string(valueRange(row)), intent: Self.intent(code: intent(row))))
        }
        return parameters
    }
}

/// The server variables: `{{mac}}`, `{{mac_upper}}`, `{{mac_colon}}`, `{{serial}}`, `{{model}}`, `{{group}}`,
/// `{{device.key}}` (the device's encryption key) and `{{device.kdf}}` (its aes-256-cbc key digest).
/// (`ResolvedSettings.builtInNames` lists them for `provctl`.)
struct BuiltIns {
    let device: Device
    let identity: ClientIdentity

    var serial: String { device.serial(presentedBy: identity) ?? "" }
    var model: String { device.model(presentedBy: identity) ?? "" }
    var group: String { device.group ?? "" }
}

/// The merge and the `{{name}}` expander, on the rows' bytes through pointers: this is the CGI's inner loop.
struct Resolver {
    let count: Int
    let arena: UnsafeBufferPointer<UInt8>
    let table: UnsafeBufferPointer<Int>
    let builtIns: BuiltIns
    let fields: StringTable
    /// The variable rows, in row order.
    var variables: [Int] = []

    /// Variables may use variables; deeper than this is taken for a loop.
    static let maximumDepth = 8

    init(count: Int, arena: UnsafeBufferPointer<UInt8>, table: UnsafeBufferPointer<Int>, builtIns: BuiltIns,
         fields: StringTable) {
        self.count = count
        self.arena = arena
        self.table = table
        self.builtIns = builtIns
        self.fields = fields
        for row in 0..<count where kind(row) == RowKind.variable.rawValue { variables.append(row) }
    }

    func kind(_ row: Int) -> Int { table[row * LayerRows.stride] }
    /// `Scope.Rank`'s raw value (compared as an integer in the inner loops).
    func rank(_ row: Int) -> Int { table[row * LayerRows.stride + 1] }
    func nameStart(_ row: Int) -> Int { table[row * LayerRows.stride + 2] }
    func nameEnd(_ row: Int) -> Int { table[row * LayerRows.stride + 3] }
    func valueEnd(_ row: Int) -> Int { table[row * LayerRows.stride + 4] }
    func access(_ row: Int) -> Int { table[row * LayerRows.stride + 5] }

    /// `memcmp` order of two byte ranges of the arena, the shorter first on a tie.
    func compare(_ a: Int, _ aEnd: Int, _ b: Int, _ bEnd: Int) -> Int {
        let common = min(aEnd - a, bEnd - b)
        if common > 0 {
            let order = memcmp(arena.baseAddress! + a, arena.baseAddress! + b, common)
            if order != 0 { return Int(order) }
        }
        return (aEnd - a) - (bEnd - b)
    }

    func compareNames(_ a: Int, _ b: Int) -> Int { compare(nameStart(a), nameEnd(a), nameStart(b), nameEnd(b)) }

    /// The setting rows regrouped by scope (stably), each scope's run sorted by name, then a four-way merge: the rows
    /// of one name meet in scope order and the last wins. The store hands each scope's rows over in primary-key
    /// order, so the sorts only check. `rows` (the rows the pointers point into, borrowed: copying it costs) names a
    /// row's scope in an error.
    func resolve(_ rows: borrowing LayerRows) throws(SettingsError) -> ResolvedRows {
        var order: [Int] = []
        order.reserveCapacity(count)
        var ends = (0, 0, 0, 0)
        for rank in Scope.Rank.all.rawValue...Scope.Rank.device.rawValue {
            let start = order.count
            for row in 0..<count where kind(row) == RowKind.setting.rawValue && self.rank(row) == rank { order.append(row) }
            var index = start + 1
            while index < order.count && compareNames(order[index - 1], order[index]) <= 0 { index += 1 }
            if index < order.count { order[start...].sort { compareNames($0, $1) < 0 } }
            switch rank {
            case 0: ends.0 = order.count
            case 1: ends.1 = order.count
            case 2: ends.2 = order.count
            default: ends.3 = order.count
            }
        }
        var cursors = (0, ends.0, ends.1, ends.2)
        let limits = (ends.0, ends.1, ends.2, ends.3)
        var result = ResolvedRows()
        result.values.reserveCapacity(arena.count + 1024)
        result.table.reserveCapacity(order.count * ResolvedRows.stride)
        while true {
            // The smallest name at the four cursors.
            var smallest = -1
            func consider(_ cursor: Int, _ limit: Int) {
                if cursor < limit && (smallest < 0 || compareNames(order[cursor], smallest) < 0) { smallest = order[cursor] }
            }
            consider(cursors.0, limits.0)
            consider(cursors.1, limits.1)
            consider(cursors.2, limits.2)
            consider(cursors.3, limits.3)
            guard smallest >= 0 else { break }
            // Its rows, in scope order: the last wins, and the `ua` of the last that has one.
            var access = AccessCode.none.rawValue
            var winner = -1
            func take(_ cursor: inout Int, _ limit: Int) {
                // Within one scope a name is stored once; a derived row (`appendDerived`) comes after any stored
                // one of its name and wins.
                while cursor < limit, compareNames(order[cursor], smallest) == 0 {
                    let row = order[cursor]
                    if self.access(row) != AccessCode.none.rawValue { access = self.access(row) }
                    winner = row
                    cursor += 1
                }
            }
            take(&cursors.0, limits.0)
            take(&cursors.1, limits.1)
            take(&cursors.2, limits.2)
            take(&cursors.3, limits.3)
            guard XMLText.isValidName(UnsafeBufferPointer(rebasing: arena[nameStart(winner)..<nameEnd(winner)])) else {
                throw .invalidName(String(string(nameStart(winner), nameEnd(winner)).prefix(64)), scope: "\(rows.scope(winner))")
            }
            let start = result.values.count
            try expand(nameEnd(winner), valueEnd(winner), depth: 0, into: &result.values)
            result.table.append(winner)
            result.table.append(access)
            result.table.append(start)
            result.table.append(result.values.count)
        }
        return result
    }

    /// Appends the arena's bytes `start..<end` with each `{{ name }}` replaced. A `{{` with no `}}` is left as it is.
    func expand(_ start: Int, _ end: Int, depth: Int, into out: inout [UInt8]) throws(SettingsError) {
        guard depth <= Self.maximumDepth else {
            throw .loop(depth: Self.maximumDepth)
        }
        let base = arena.baseAddress!
        var literal = start
        var index = start
        while end - index >= 4, let brace = memchr(base + index, Int32(UInt8(ascii: "{")), end - index) {
            index = UnsafePointer<UInt8>(brace.assumingMemoryBound(to: UInt8.self)) - base
            guard index + 1 < end, base[index + 1] == UInt8(ascii: "{"), let close = closing(from: index + 2, end: end) else {
                index += 1
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(start: base + literal, count: index - literal))
            // The name without the spaces and tabs around it.
            var first = index + 2, last = close
            while first < last && (base[first] == 0x20 || base[first] == 0x09) { first += 1 }
            while last > first && (base[last - 1] == 0x20 || base[last - 1] == 0x09) { last -= 1 }
            try lookup(first, last, depth: depth, into: &out)
            index = close + 2
            literal = index
        }
        out.append(contentsOf: UnsafeBufferPointer(start: base + literal, count: end - literal))
    }

    /// The index of the `}}` closing a `{{` whose name starts at `start`; nil when another `{{` or the end comes
    /// first.
    func closing(from start: Int, end: Int) -> Int? {
        let base = arena.baseAddress!
        var index = start
        while index + 1 < end {
            if base[index] == UInt8(ascii: "}") && base[index + 1] == UInt8(ascii: "}") { return index }
            if base[index] == UInt8(ascii: "{") && base[index + 1] == UInt8(ascii: "{") { return nil }
            index += 1
        }
        return nil
    }

    func string(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: arena[start..<end]), as: UTF8.self)
    }

    /// True when the arena's bytes `start..<end` spell `text`.
    func spells(_ start: Int, _ end: Int, _ text: StaticString) -> Bool {
        end - start == text.utf8CodeUnitCount && memcmp(arena.baseAddress! + start, text.utf8Start, end - start) == 0
    }

    /// Appends the value of the variable named by the arena's bytes `start..<end`: server variables first, then
    /// `cert.*` fields, then the variables of the rows (the highest scope wins; within one, the later row).
    func lookup(_ start: Int, _ end: Int, depth: Int, into out: inout [UInt8]) throws(SettingsError) {
        var builtIn: String? = nil
        if spells(start, end, "mac") { builtIn = builtIns.device.mac.hex }
        else if spells(start, end, "mac_upper") { builtIn = builtIns.device.mac.upper }
        else if spells(start, end, "mac_colon") { builtIn = builtIns.device.mac.colon }
        else if spells(start, end, "serial") { builtIn = builtIns.serial }
        else if spells(start, end, "model") { builtIn = builtIns.model }
        else if spells(start, end, "group") { builtIn = builtIns.group }
        else if end - start >= 7 && memcmp(arena.baseAddress! + start, "device.", 7) == 0 {
            // The device's own key (issue 21): `[--key {{device.key}}]` in its rules, so the key is stored once.
            // `provctl` allows it only as the argument of --key in Profile_Rule*/Upgrade_Rule, where every
            // output masks it. A device without a key has no such variable.
            switch builtIns.device.encryption {
            case .aes256cbc(let key, let digest):
                if spells(start, end, "device.key") { builtIn = key } else if spells(start, end, "device.kdf") { builtIn = digest.rawValue }
            case .aes128gcm(let material):
                if spells(start, end, "device.key") { builtIn = material.ikm }
            case .none:
                break
            }
            if builtIn == nil { throw .undefinedVariable(string(start, end)) }
        }
        if var value = builtIn {
            value.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        if end - start >= 5 && memcmp(arena.baseAddress! + start, "cert.", 5) == 0 {
            let field = string(start + 5, end).lowercased()
            if var value = fields[field] {
                value.withUTF8 { out.append(contentsOf: $0) }
                return
            }
            // A standard attribute this certificate lacks reads as empty, as mod_ssl's unset variable would.
            if ClientIdentity.isKnownFieldName(field) { return }
            throw .undefinedVariable(string(start, end))
        }
        var found = -1
        for row in variables where compare(nameStart(row), nameEnd(row), start, end) == 0 {
            if found < 0 || rank(row) >= rank(found) { found = row }
        }
        guard found >= 0 else { throw .undefinedVariable(string(start, end)) }
        try expand(nameEnd(found), valueEnd(found), depth: depth + 1, into: &out)
    }
}

extension Device {
    /// The stored model, else the one the certificate presents. (An `if`, not `??`: on this path `a ?? b` between
    /// two optionals copied the right side through the Optional<String> value witnesses, which made the Swift
    /// runtime instantiate that metadata: 35k instructions per request.)
    public func model(presentedBy identity: ClientIdentity) -> String? {
        if let model { return model }
        return identity.model
    }

    /// The stored serial, else the one the certificate presents.
    public func serial(presentedBy identity: ClientIdentity) -> String? {
        if let serial { return serial }
        return identity.serial
    }
}

extension String {
    /// Equal ignoring case, as `lowercased() == other.lowercased()`, without making two strings when both are
    /// ASCII (serials and models always are).
    func equalsIgnoringCase(_ other: String) -> Bool {
        var left = self, right = other
        let asciiAnswer: Bool? = left.withUTF8 { l in
            right.withUTF8 { r in
                guard l.count == r.count else { return l.allSatisfy { $0 < 0x80 } && r.allSatisfy { $0 < 0x80 } ? false : nil }
                for index in 0..<l.count {
                    let a = l[index], b = r[index]
                    if a >= 0x80 || b >= 0x80 { return nil }
                    let lowerA = a >= 0x41 && a <= 0x5a ? a | 0x20 : a
                    let lowerB = b >= 0x41 && b <= 0x5a ? b | 0x20 : b
                    if lowerA != lowerB { return false }
                }
                return true
            }
        }
        return asciiAnswer ?? (lowercased() == other.lowercased())
    }
}

/// Why settings could not be resolved: an error of the settings' own domain. The service answers it 500 (the
/// profile cannot be built), provctl refuses the change that would cause it.
public enum SettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `{{name}}` names no variable of any scope, no server variable and no certificate field.
    case undefinedVariable(String)
    /// Variables refer to each other deeper than `depth`: a loop.
    case loop(depth: Int)
    /// A parameter name XML cannot carry, and the scope that holds it.
    case invalidName(String, scope: String)

    public var description: String {
        switch self {
        case .undefinedVariable(let name): "undefined variable {{\(name)}}"
        case .loop(let depth): "variables nest deeper than \(depth) (a loop?)"
        case .invalidName(let name, let scope): "parameter name \"\(name)\" at \(scope) is not a valid XML name"
        }
    }
}
