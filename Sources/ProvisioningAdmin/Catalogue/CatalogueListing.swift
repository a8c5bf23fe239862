public import Provisioning

extension ParameterCatalogue {
    /// Every catalogue line, names first (sorted), then the indexed families (`#` for the index).
    public static var allEntries: [Entry] {
        entries.names.keys.sorted().compactMap { entries.names[$0] } + entries.families.map(\.entry)
    }

    /// A page of the catalogue as the admin API answers it, in the order of `allEntries`: the lines after the
    /// pattern `after`, of the firmware family `family` (`mpp12`, `spa`, ...), whose pattern holds `search`
    /// (case-insensitive). Each entry: its pattern, whether its value is a secret (masked wherever shown), the
    /// families that have it, the values the guides list.
    public static func page(after: String?, limit: Int, family: String?, search: String?) -> JSON {
        var all = allEntries
        if let after, let index = all.firstIndex(where: { $0.pattern == after }) { all = Array(all[(index + 1)...]) }
        let needle = search?.lowercased()
        var items: [JSON] = []
        var last: String?
        var more = false
        for entry in all {
            if let family, !entry.families.contains(family) { continue }
            if let needle, !entry.pattern.lowercased().contains(needle) { continue }
            if items.count == limit { more = true; break }
            items.append(.object([("name", .string(entry.pattern)), ("partition", .string("")),
                                  ("secret", .bool(Secrets.isSecret(entry.pattern))), ("models", .array(entry.families.map(JSON.string))),
                                  ("default", .null), ("description", .null), ("values", .array(entry.values.map(JSON.string)))]))
            last = entry.pattern
        }
        return .object([("items", .array(items)), ("next_after", more ? .text(last) : .null)])
    }
}
