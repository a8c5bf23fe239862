#if canImport(Glibc)
import Glibc
#endif

/// One parameter after the scopes are merged: its final value, `ua`, and the scope the value came from.
public struct ResolvedParameter: Sendable, Equatable {
    public var name: String
    /// The value with every `{{variable}}` replaced; phone macros (`$MA`) are left for the phone.
    public var value: String
    public var access: UserAccess?
    /// The scope whose row won.
    public var scope: Scope
    /// The stored value before variables were replaced.
    public var template: String
}

/// The settings and variables of one device merged default → model → group → device (the later wins), with
/// `{{variables}}` resolved.
public struct ResolvedSettings: Sendable {
    /// The parameters in the order they are emitted: by name, byte order, so two renders never differ.
    public var parameters: [ResolvedParameter]

    /// The server variables every profile can use, beside those set at any scope.
    public static let builtInNames = ["mac", "mac_upper", "mac_colon", "serial", "model", "group"]

    /// Merges `layers` for `device` as identified by `identity`. An undefined variable, a loop between variables,
    /// or a parameter name XML cannot carry is a 500 that names it.
    public init(layers: Layers, device: Device, identity: ClientIdentity) throws(Refusal) {
        var variables = Variables(builtIns: Self.builtIns(device: device, identity: identity), fields: identity.fields)
        for variable in layers.variables.sorted(by: { $0.scope.rank < $1.scope.rank }) {
            variables.defined[variable.name] = variable.value
        }
        // Sorting by name, then scope, puts each parameter's rows side by side with the winner last; no hashing
        // (see StringTable for why the CGI avoids Dictionary).
        // The rows regrouped by scope (stably), each scope's run sorted by name (byte order), then a four-way
        // merge: the rows of one name meet in scope order and the last wins. The store hands each scope's rows
        // over in primary-key order, so the sorts below only check. One flat array and plain integers: no
        // hashing, no general sort and no extra generic types on the CGI's path (see StringTable for why).
        var rows: [Setting] = []
        rows.reserveCapacity(layers.settings.count)
        var ends = [0, 0, 0, 0]
        for rank in 0..<4 {
            let start = rows.count
            for setting in layers.settings where setting.scope.rank == rank { rows.append(setting) }
            var sorted = true
            for index in (start + 1)..<max(start + 1, rows.count) where compareBytes(rows[index - 1].name, rows[index].name) > 0 {
                sorted = false
                break
            }
            if !sorted { rows[start...].sort { compareBytes($0.name, $1.name) < 0 } }
            ends[rank] = rows.count
        }
        var cursors = [0, ends[0], ends[1], ends[2]]
        var parameters: [ResolvedParameter] = []
        parameters.reserveCapacity(rows.count)
        while true {
            var smallest = -1
            for rank in 0..<4 where cursors[rank] < ends[rank] {
                if smallest < 0 || compareBytes(rows[cursors[rank]].name, rows[smallest].name) < 0 { smallest = cursors[rank] }
            }
            guard smallest >= 0 else { break }
            let name = rows[smallest].name
            var access: UserAccess? = nil
            var winner = -1
            for rank in 0..<4 where cursors[rank] < ends[rank] && rows[cursors[rank]].name == name {
                access = rows[cursors[rank]].access ?? access
                winner = cursors[rank]
                cursors[rank] += 1
            }
            guard winner >= 0 else { break }
            let chosen = rows[winner]
            guard XMLText.isValidName(name) else {
                throw .serverError("parameter name \"\(name.prefix(64))\" at \(chosen.scope) is not a valid XML name")
            }
            let value = try variables.expand(chosen.value, depth: 0)
            parameters.append(ResolvedParameter(name: name, value: value, access: access, scope: chosen.scope,
                                                template: chosen.value))
        }
        self.parameters = parameters
    }

    static func builtIns(device: Device, identity: ClientIdentity) -> StringTable {
        [
            "mac": device.mac.hex,
            "mac_upper": device.mac.upper,
            "mac_colon": device.mac.colon,
            "serial": device.serial ?? identity.serial ?? "",
            "model": device.model ?? identity.model ?? "",
            "group": device.group ?? "",
        ]
    }
}

/// Byte-order comparison of two strings' UTF-8 (`memcmp`), without the generic sequence machinery.
func compareBytes(_ a: String, _ b: String) -> Int {
    var a = a, b = b
    return a.withUTF8 { left in
        b.withUTF8 { right in
            let common = min(left.count, right.count)
            if common > 0 {
                let order = memcmp(left.baseAddress!, right.baseAddress!, common)
                if order != 0 { return Int(order) }
            }
            return left.count - right.count
        }
    }
}

/// The variables one render can use, and the `{{name}}` expander.
struct Variables {
    var builtIns: StringTable
    var fields: StringTable
    var defined = StringTable()

    /// Variables may use variables; deeper than this is taken for a loop.
    static let maximumDepth = 8

    /// The value of `name`: built-ins first, then `cert.*` fields, then variables set at a scope.
    func lookup(_ name: String, depth: Int) throws(Refusal) -> String {
        if let value = builtIns[name] { return value }
        if name.hasPrefix("cert.") {
            let field = String(name.dropFirst(5)).lowercased()
            if let value = fields[field] { return value }
            // A standard attribute this certificate lacks reads as empty, as mod_ssl's unset variable would.
            if ClientIdentity.isKnownFieldName(field) { return "" }
            throw .serverError("undefined variable {{\(name)}}")
        }
        guard let value = defined[name] else { throw .serverError("undefined variable {{\(name)}}") }
        return try expand(value, depth: depth + 1)
    }

    /// Replaces each `{{ name }}` in `text`. A `{{` with no `}}` is left as it is.
    func expand(_ text: String, depth: Int) throws(Refusal) -> String {
        guard depth <= Self.maximumDepth else { throw .serverError("variables nest deeper than \(Self.maximumDepth) (a loop?)") }
        var probe = text
        guard probe.withUTF8({ $0.count >= 4 && memchr($0.baseAddress!, Int32(UInt8(ascii: "{")), $0.count) != nil }) else {
            return text
        }
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "{"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "{"),
               let close = Self.closing(bytes, from: index + 2) {
                let name = String(decoding: bytes[(index + 2)..<close], as: UTF8.self).trimmingSpaces
                output += try lookup(name, depth: depth).utf8
                index = close + 2
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func closing(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "}") && bytes[index + 1] == UInt8(ascii: "}") { return index }
            if bytes[index] == UInt8(ascii: "{") && bytes[index + 1] == UInt8(ascii: "{") { return nil }
            index += 1
        }
        return nil
    }
}
