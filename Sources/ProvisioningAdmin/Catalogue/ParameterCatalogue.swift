/// The parameter names Cisco's phones know, and the values they list for them: `provctl` warns about a name not
/// in here (a phone ignores a name it does not know, FACTS.md §4) and about a value outside a listed set.
///
/// The data is `catalogue.tsv` beside this file, embedded into provctl by SwiftPM (`.embedInCode`, Package.swift);
/// `tools/catalogue/generate.py` regenerates it from `tools/catalogue/material/` (Cisco's guides and real
/// exported profiles, each file naming its sources).
/// A name is a pattern: `#` stands for an index (line, key, unit: `Display_Name_1_`), `/` separates nested blocks
/// (`router-configuration/Time_Setup/Time_Server`). The list is not complete, since firmware keeps adding names:
/// an unknown name is only a warning.
public enum ParameterCatalogue {
    /// One catalogue line.
    public struct Entry: Sendable {
        /// The pattern, `#` for an index.
        public var pattern: String
        /// The values the phones or guides list; empty when they list none.
        public var values: [String]
        /// The firmware families that have it (`mpp12`, `mpp11`, `spa`, `ata`).
        public var families: [String]
        /// The material files it comes from.
        public var sources: [String]
        /// True when every source lists it as `Yes`/`No` and nothing else.
        public var isBoolean: Bool { values == ["Yes", "No"] }
    }

    struct Entries: Sendable {
        var names: [String: Entry] = [:]
        /// Indexed families, split at each `#`: `["Display_Name_", "_"]` (as bytes, for a lookup that does not walk
        /// Characters: an import checks thousands of names).
        var families: [(parts: [[UInt8]], entry: Entry)] = []
        /// The families by their text before the first index, for a lookup that does not scan them all.
        var familiesByLead: [String: [Int]] = [:]
        /// The lower-cased names, for a case-insensitive hint.
        var lowercased: [String: String] = [:]
    }

    static let entries: Entries = parse(text)

    /// `catalogue.tsv` as SwiftPM embedded it.
    static var text: String { String(decoding: PackageResources.catalogue_tsv, as: UTF8.self) }

    static func parse(_ text: String) -> Entries {
        var entries = Entries()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("name\t") {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count == 4 else { continue }
            let entry = Entry(pattern: columns[0],
                              values: columns[1].isEmpty ? [] : columns[1].split(separator: "|", omittingEmptySubsequences: false).map(String.init),
                              families: columns[2].split(separator: ",").map(String.init),
                              sources: columns[3].split(separator: ",").map(String.init))
            if entry.pattern.contains("#") {
                let parts = entry.pattern.split(separator: "#", omittingEmptySubsequences: false).map { Array($0.utf8) }
                entries.familiesByLead[String(decoding: parts[0], as: UTF8.self), default: []].append(entries.families.count)
                entries.families.append((parts, entry))
            } else {
                entries.names[entry.pattern] = entry
                entries.lowercased[entry.pattern.lowercased()] = entry.pattern
            }
        }
        return entries
    }

    /// Every name and family pattern in the catalogue, `#` for an index.
    public static var patterns: [String] {
        entries.names.keys.sorted() + entries.families.map { $0.entry.pattern }
    }

    /// The catalogue line for `name` (a family matches any index from 1 to 999; the `[n]` of a repeated nested
    /// block is ignored), or `nil`.
    public static func entry(for name: String) -> Entry? {
        let name = withoutBlockIndexes(name)
        if let entry = entries.names[name] { return entry }
        return family(of: name)
    }

    /// True when the guides or a real export list `name`.
    public static func isKnown(_ name: String) -> Bool { entry(for: name) != nil }

    /// True for a parameter every source documents as `Yes`/`No` only.
    public static func isBoolean(_ name: String) -> Bool { entry(for: name)?.isBoolean == true }

    /// The values listed for `name`; empty when none are.
    public static func values(for name: String) -> [String] { entry(for: name)?.values ?? [] }

    /// `a/b[2]/c` as `a/b/c`.
    static func withoutBlockIndexes(_ name: String) -> String {
        guard name.utf8.contains(UInt8(ascii: "[")) else { return name }
        var out = ""
        var skipping = false
        for character in name {
            if character == "[" { skipping = true } else if character == "]" { skipping = false } else if !skipping {
                out.append(character)
            }
        }
        return out
    }

    static func family(of name: String) -> Entry? {
        // A family's lead ends where the first index starts: try the text before each digit that follows a
        // non-digit.
        let bytes = Array(name.utf8)
        var previousIsDigit = false
        for index in bytes.indices {
            let isDigit = bytes[index] >= 0x30 && bytes[index] <= 0x39
            if isDigit && !previousIsDigit,
               let candidates = entries.familiesByLead[String(decoding: bytes[..<index], as: UTF8.self)] {
                for candidate in candidates where matches(bytes[...], parts: entries.families[candidate].parts[...]) {
                    return entries.families[candidate].entry
                }
            }
            previousIsDigit = isDigit
        }
        return nil
    }

    /// Matches `name` against literal parts separated by indexes (1 to 3 digits, no leading zero).
    static func matches(_ name: ArraySlice<UInt8>, parts: ArraySlice<[UInt8]>) -> Bool {
        guard let first = parts.first, name.starts(with: first) else { return false }
        let rest = name.dropFirst(first.count)
        if parts.count == 1 { return rest.isEmpty }
        let digits = rest.prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard (1...3).contains(digits.count), digits.first != 0x30 else { return false }
        return matches(rest.dropFirst(digits.count), parts: parts.dropFirst())
    }

    /// The catalogue name closest to `name` when it differs only by case or by one or two edits, for a hint. An
    /// indexed name is compared with the families, its own indexes kept (`Display_Nmae_2_` → `Display_Name_2_`).
    /// No hint that would rename what is plausibly a real name of another firmware: a mixed-case name that
    /// differs only in case (`LDAP_item_4_Filter` is the SPA spelling of `LDAP_Item_4_Filter`), or a name that
    /// differs only in digits, `_` or `-` (`Speed_Dial_3` is a SPA name, `Speed_Dial_3_` an MPP one).
    public static func nearest(to name: String) -> String? {
        guard let candidate = closest(to: name) else { return nil }
        if candidate.lowercased() == name.lowercased() {
            return name == name.lowercased() || name == name.uppercased() ? candidate : nil
        }
        let letters = { (text: String) in text.filter { $0.isLetter }.lowercased() }
        return letters(candidate) == letters(name) ? nil : candidate
    }

    static func closest(to name: String) -> String? {
        let lower = name.lowercased()
        if let sameLetters = entries.lowercased[lower] { return sameLetters }
        var best: (String, Int)?
        func consider(_ candidate: String, _ distance: Int) {
            if distance <= 2, best == nil || distance < best!.1 || (distance == best!.1 && candidate < best!.0) {
                best = (candidate, distance)
            }
        }
        for candidate in entries.names.keys where abs(candidate.count - name.count) <= 2 {
            consider(candidate, editDistance(Array(lower.utf8), Array(candidate.lowercased().utf8), limit: 2))
        }
        // The name with its digit runs as `#`, against the families; the suggestion gets the digits back.
        var shape = "", digits: [String] = [], run = ""
        for character in name {
            if character.isASCII && character.isNumber { run.append(character); continue }
            if !run.isEmpty { shape.append("#"); digits.append(run); run = "" }
            shape.append(character)
        }
        if !run.isEmpty { shape.append("#"); digits.append(run) }
        if !digits.isEmpty {
            let lowerShape = Array(shape.lowercased().utf8)
            for (_, entry) in entries.families where abs(entry.pattern.count - shape.count) <= 2
                && entry.pattern.filter({ $0 == "#" }).count == digits.count {
                let distance = editDistance(lowerShape, Array(entry.pattern.lowercased().utf8), limit: 2)
                guard distance <= 2 else { continue }
                var filled = "", next = 0
                for character in entry.pattern {
                    if character == "#" { filled += digits[next]; next += 1 } else { filled.append(character) }
                }
                if filled != name { consider(filled, distance) }
            }
        }
        return best?.0
    }

    /// The Levenshtein distance of `a` and `b`, or `limit + 1` as soon as it is known to be more than `limit`:
    /// the one copy, for the catalogue's and the device fields' suggestions (`DeviceFieldRules.suggestion`).
    static func editDistance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j] + (x == y ? 0 : 1), previous[j + 1] + 1, current[j] + 1)
            }
            if current.min()! > limit { return limit + 1 }
            previous = current
        }
        return previous[b.count]
    }
}
