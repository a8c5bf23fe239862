import Provisioning

/// The `variables` cell: `name=value;name=value`, a `;` or `\` inside a value written `\;` or `\\`.
public enum VariablesCell {
    public static func parse(_ cell: String) throws -> [(name: String, value: String)] {
        var pairs: [(String, String)] = []
        if cell.utf8.isEmpty { return [] }
        try ExpectedEntry.forEachPart(of: cell) { part in
            guard part.contains(where: { $0 != 0x20 }) else { return }
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")) else { throw CellError() }
            var nameStart = 0, nameEnd = equals
            while nameStart < nameEnd && (part[nameStart] == 0x20 || part[nameStart] == 0x09) { nameStart += 1 }
            while nameEnd > nameStart && (part[nameEnd - 1] == 0x20 || part[nameEnd - 1] == 0x09) { nameEnd -= 1 }
            guard nameStart < nameEnd else { throw CellError() }
            pairs.append((String(decoding: part[nameStart..<nameEnd], as: UTF8.self),
                          String(decoding: part[(equals + 1)...], as: UTF8.self)))
        }
        return pairs
    }

    public static func format(_ pairs: [(name: String, value: String)]) -> String {
        pairs.map { pair in
            var value = ""
            for character in pair.value {
                if character == ";" || character == "\\" { value.append("\\") }
                value.append(character)
            }
            return pair.name + "=" + value
        }.joined(separator: ";")
    }

    /// A part that is not `name=value`; it names nothing, since the text may be a secret.
    public struct CellError: Error {}
}

/// The column of a device-scope setting in `provctl export`/`import`: `NAME` for the main profile, `PART/NAME` for
/// a named partition (a partition name is a-z 0-9 _, a parameter name has no /, so the spelling is unambiguous).
public struct SettingColumn: Hashable, Comparable, Sendable {
    public var partition: String
    public var name: String

    public init(partition: String, name: String) {
        self.partition = partition
        self.name = name
    }

    public var spelled: String { partition.isEmpty ? name : partition + "/" + name }

    /// The main profile first, then the partitions by name; by parameter name within each.
    public static func < (lhs: SettingColumn, rhs: SettingColumn) -> Bool {
        lhs.partition != rhs.partition ? lhs.partition < rhs.partition : lhs.name < rhs.name
    }
}
