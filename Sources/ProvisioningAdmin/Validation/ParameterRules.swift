public import Provisioning
/// Why a value cannot be stored: the parameter, its value (masked when it is a secret) and the rule it breaks.
public struct RuleViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// The parameter or variable name.
    public var name: String
    /// The value as it may be shown: masked when the name holds a secret or the value a `--key`/`--pwd`.
    public var shownValue: String
    /// The rule, in words.
    public var rule: String

    public init(name: String, value: String, rule: String) {
        self.name = name
        self.shownValue = Secrets.mask(name: name, value: value)
        self.rule = rule
    }

    public var description: String { "\(name)=\"\(shownValue)\": \(rule)" }
}

/// A value that passed its rules: what to store (a `yes` spelled `Yes`) and what the admin should hear about.
public struct CheckedValue: Sendable, Equatable {
    /// The value to store.
    public var value: String
    /// Warnings for stderr: an unknown parameter name, a value below a documented floor, a normalised spelling.
    public var warnings: [String]
}

/// The rules a parameter value must follow before it is stored (FACTS.md §4 and §6), and the catalogue check of
/// its name.
///
/// A value holding `{{variables}}` is checked here only for characters XML forbids; its typed rule is checked
/// per device, on the resolved value, by `provctl check`.
public enum ParameterRules {
    /// The parameters whose value is seconds: an integer, a comma list (the last repeats), or `N+M` ranges.
    public static let secondsLists: Set<String> = ["Resync_Periodic", "Resync_Error_Retry_Delay", "Upgrade_Error_Retry_Delay"]

    /// Integer parameters and their documented ranges.
    public static let ranges: [String: ClosedRange<Int>] = [
        "Resync_Random_Delay": 0...65535,
        "Resync_At_Random_Delay": 0...65535,
        "Forced_Resync_Delay": 0...65535,
    ]

    /// The values `Privacy_Header_N_` takes, as the guides spell them.
    public static let privacyHeaderValues = ["Disabled", "none", "header", "session", "user", "id"]

    /// The options a rule's `[...]` block may hold (the MPP provisioning and administration guides): those that
    /// need a value, and those whose value is optional (`[--srv] https://...`, `--delta` of a report rule).
    public static let ruleOptions = ["--key", "--uid", "--pwd", "--alias", "--srv", "--post", "--delta", "--status"]
    /// The options that must be followed by a value.
    public static let ruleOptionsWithValue: Set<String> = ["--key", "--uid", "--pwd", "--alias"]

    /// The parameters `{{device.key}}` may appear in, as the argument of `--key`: where every output masks it.
    static func mayHoldDeviceKey(_ name: String) -> Bool {
        name == "Upgrade_Rule" || name == "Profile_Rule" || ["_B", "_C", "_D"].contains { name == "Profile_Rule" + $0 }
    }

    /// `{{device.key}}` only as the argument of `--key` in a rule (`name` nil: a variable, never).
    public static func checkDeviceKeyUse(name: String?, value: String) throws(RuleViolation) {
        // Most values hold no {{ at all: one byte scan instead of referencedVariables' walk (import checks
        // every variable of every row here).
        guard value.utf8.contains(UInt8(ascii: "{")) else { return }
        let uses = Secrets.referencedVariables(in: value).filter { $0 == "device.key" }.count
        guard uses > 0 else { return }
        let rule = "{{device.key}} (the device's own key) belongs only after --key in Profile_Rule, Profile_Rule_B.._D "
            + "or Upgrade_Rule, where every output masks it: [--key {{device.key}}]"
        guard let name, mayHoldDeviceKey(name) else { throw RuleViolation(name: name ?? "variable", value: Secrets.maskRule(value), rule: rule) }
        // Each `{{ device.key }}` must follow `--key` (spaces, and an opening quote, between).
        var rest = Substring(value)
        while let open = rest.range(of: "{{") {
            let before = rest[..<open.lowerBound]
            let after = rest[open.upperBound...]
            guard let close = after.range(of: "}}") else { break }
            if String(after[..<close.lowerBound]).trimmingSpaces == "device.key" {
                var lead = before
                while let last = lead.last, last == " " || last == "\t" || last == "\"" { lead = lead.dropLast() }
                if !lead.hasSuffix("--key") { throw RuleViolation(name: name, value: Secrets.maskRule(value), rule: rule) }
            }
            rest = after[close.upperBound...]
        }
    }

    /// Checks one parameter; returns the value to store, or the rule it breaks.
    ///
    /// `lenient` is for values phones already run (`import-profile`): only what cannot be stored or served is
    /// refused (a name XML cannot carry, a character XML forbids); a value outside its rule is kept and the rule
    /// becomes a warning. `provctl set` is strict, and with `listedValues` also refuses a value outside the values
    /// the catalogue lists for the name (`Share_Ext_1_=maybe`); elsewhere (check, import) that is a warning, since
    /// the lists come from particular firmware releases.
    public static func check(name: String, value: String, lenient: Bool = false,
                             listedValues: Bool = false) throws(RuleViolation) -> CheckedValue {
        if DerivedSettings.isDerived(name) {
            throw RuleViolation(name: name, value: value, rule: "written from the device's RFC 8188 key into its profile; "
                                + "set it with provctl device edit MAC --encrypt aes128gcm --key IKM")
        }
        guard XMLText.isValidName(name) else {
            throw RuleViolation(name: name, value: value, rule: "not a parameter name: ASCII letters, digits, _ - ., "
                                + "a letter or _ first, at most 128 characters (a leaf of nested blocks: up to 8 such "
                                + "names joined by /, each optionally followed by [n])")
        }
        if let bad = XMLText.firstForbidden(in: value) {
            throw RuleViolation(name: name, value: value, rule: "holds \(codePoint(bad.value)), a character XML 1.0 forbids")
        }
        var warnings: [String] = []
        if !ParameterCatalogue.isKnown(name) {
            let hint = ParameterCatalogue.nearest(to: name).map { " (did you mean \($0)?)" } ?? ""
            warnings.append("\(name): not a parameter name the catalogue knows (Cisco's guides, real exports); phones ignore unknown names\(hint)")
        }
        try checkDeviceKeyUse(name: name, value: value)
        if holdsVariables(value) {
            return CheckedValue(value: value, warnings: warnings)
        }
        var stored = value
        do {
            try checkTyped(name: name, value: value, stored: &stored, warnings: &warnings)
        } catch {
            guard lenient else { throw error }
            warnings.append(error.description + " (kept as it is)")
            return CheckedValue(value: value, warnings: warnings)
        }
        if lenient && stored != value {
            // Kept as written (the phone reads `yes` as Yes): no "stored as" warning.
            warnings.removeAll { $0.hasSuffix(": stored as \(stored)") }
        }
        if let warning = listedValueWarning(name: name, value: stored) {
            if listedValues && !lenient, let entry = ParameterCatalogue.entry(for: name) {
                throw RuleViolation(name: name, value: value, rule: "one of the values the phones list: "
                                    + entry.values.joined(separator: ", ")
                                    + " (import-profile keeps other values a phone runs, with a warning)")
            }
            warnings.append(warning)
        }
        // A file phones run comes back byte for byte (`yes` stays `yes`: the phone reads it as Yes); `set` stores
        // the guides' spelling.
        return CheckedValue(value: lenient ? value : stored, warnings: warnings)
    }

    /// A warning when the catalogue lists values for `name` (the phone's own `available options`, the guides'
    /// choices) and `value` is none of them, compared without case; `nil` otherwise. Only a warning: the lists
    /// come from particular firmware releases, and other releases add values.
    public static func listedValueWarning(name: String, value: String) -> String? {
        guard let entry = ParameterCatalogue.entry(for: name), !entry.values.isEmpty, !entry.isBoolean else { return nil }
        let listed = entry.values
        let trimmed = trimmingWhiteSpace(value)
        guard !trimmed.isEmpty else { return nil }
        let lower = trimmed.lowercased()
        let isListed: (String) -> Bool = { part in listed.contains(where: { $0.lowercased() == part }) }
        if isListed(lower) { return nil }
        // A choice of several (`Work_Days`: Monday|Tuesday|...) lists each.
        if lower.contains("|"), lower.split(separator: "|").allSatisfy({ isListed(String($0)) }) { return nil }
        let shown = listed.count > 8 ? listed.prefix(8).joined(separator: ", ") + ", ... (\(listed.count) in all)"
                                     : listed.joined(separator: ", ")
        return "\(name)=\"\(Secrets.mask(name: name, value: trimmed))\": not a value the phones list (\(shown))"
    }

    /// True when `text` holds a `{{`, the start of a variable reference.
    public static func holdsVariables(_ text: String) -> Bool {
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "{") && previous == byte { return true }
            previous = byte
        }
        return false
    }

    /// The typed rule of `name`, on a value without `{{variables}}` (or already resolved).
    public static func checkTyped(name: String, value: String, stored: inout String,
                                  warnings: inout [String]) throws(RuleViolation) {
        // The phone trims leading and trailing white space (FACTS §4); the rules apply to what it keeps.
        let trimmed = trimmingWhiteSpace(value)
        if secondsLists.contains(name) {
            if let problem = secondsListProblem(trimmed) { throw RuleViolation(name: name, value: value, rule: problem) }
        } else if name == "Resync_At__HHmm_" {
            if !isClockTime(trimmed) {
                throw RuleViolation(name: name, value: value, rule: "empty, or four digits HHmm from 0000 to 2400 (mm below 60)")
            }
        } else if let range = ranges[name] {
            guard let number = integer(trimmed), range.contains(number) else {
                throw RuleViolation(name: name, value: value,
                                    rule: "an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            if name == "Resync_At_Random_Delay" && number < 600 {
                warnings.append("Resync_At_Random_Delay=\(number): below 600 the phone waits a random 0..600 s")
            }
        } else if let index = lineIndex(name, prefix: "Privacy_Header_"), (1...10).contains(index) {
            guard privacyHeaderValues.contains(trimmed) else {
                throw RuleViolation(name: name, value: value,
                                    rule: "one of " + privacyHeaderValues.joined(separator: ", "))
            }
        } else if name == "Profile_Rule" || name == "Profile_Rule_B" || name == "Profile_Rule_C" || name == "Profile_Rule_D" {
            if let problem = RuleSyntax.problem(in: trimmed, allowsOptions: true, requiresServer: false) {
                throw RuleViolation(name: name, value: value, rule: "profile rule syntax: " + problem)
            }
        } else if name == "Upgrade_Rule" {
            if let problem = RuleSyntax.problem(in: trimmed, allowsOptions: false, requiresServer: true) {
                throw RuleViolation(name: name, value: value, rule: "upgrade rule syntax: " + problem)
            }
        } else if name == "MIC_Cert_Refresh_Rule" {
            if trimmed.utf8.count > 1024 {
                throw RuleViolation(name: name, value: value, rule: "a URL of at most 1024 characters")
            }
        } else if ParameterCatalogue.isBoolean(name) {
            switch trimmed {
            case "Yes", "No":
                break
            default:
                // Case variants are accepted and stored as the guides spell them; anything else is refused.
                let lower = trimmed.lowercased()
                if lower == "yes" || lower == "no" {
                    stored = lower == "yes" ? "Yes" : "No"
                    warnings.append("\(name)=\(trimmed): stored as \(stored)")
                } else {
                    throw RuleViolation(name: name, value: value, rule: "a boolean: Yes or No")
                }
            }
        }
    }

    /// The problem with a seconds list (`3600`, `600,1200,300`, `2400+30`), or `nil`.
    public static func secondsListProblem(_ text: String) -> String? {
        let rule = "seconds: an integer, a comma list such as 600,1200,300 (the last repeats), or ranges such as 2400+30; 0 disables"
        guard !text.isEmpty else { return rule }
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "+", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts.allSatisfy({ integer(trimmingWhiteSpace(String($0))) != nil }) else { return rule }
        }
        return nil
    }

    /// True for an empty value or `HHmm` from 0000 to 2400.
    public static func isClockTime(_ text: String) -> Bool {
        if text.isEmpty { return true }
        let bytes = Array(text.utf8)
        guard bytes.count == 4, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        let hours = Int(bytes[0] - 0x30) * 10 + Int(bytes[1] - 0x30)
        let minutes = Int(bytes[2] - 0x30) * 10 + Int(bytes[3] - 0x30)
        return minutes < 60 && (hours < 24 || (hours == 24 && minutes == 0))
    }

    /// A non-negative decimal integer of at most 9 digits, or `nil`.
    static func integer(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 9, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// N in `<prefix>N_`, or `nil`.
    static func lineIndex(_ name: String, prefix: String) -> Int? {
        guard name.hasPrefix(prefix), name.hasSuffix("_") else { return nil }
        let middle = name.dropFirst(prefix.count).dropLast()
        return integer(String(middle))
    }

    static func trimmingWhiteSpace(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let space: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }
        guard let first = bytes.firstIndex(where: { !space($0) }), let last = bytes.lastIndex(where: { !space($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    /// `U+HHHH`: a character named in a rule.
    static func codePoint(_ value: UInt32) -> String { "U+" + Hex.text(UInt64(value), width: 4, uppercase: true) }

    /// Checks a `{{variable}}` name and value: names are ASCII letters, digits, `_ - .`, not `cert.*` and not a
    /// server variable; values hold no character XML forbids.
    public static func checkVariable(name: String, value: String) throws(RuleViolation) {
        let allowed = name.utf8.allSatisfy {
            ($0 | 0x20 >= UInt8(ascii: "a") && $0 | 0x20 <= UInt8(ascii: "z")) || ($0 >= 0x30 && $0 <= 0x39)
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
        try checkDeviceKeyUse(name: nil, value: value)
        guard !name.isEmpty, name.utf8.count <= 128, allowed, !name.hasPrefix("cert."), !name.hasPrefix("device.") else {
            throw RuleViolation(name: "variable " + name, value: value,
                                rule: "variable names are ASCII letters, digits, _ - . and do not start with cert.")
        }
        guard !ResolvedSettings.builtInNames.contains(name) else {
            throw RuleViolation(name: "variable " + name, value: value, rule: "a server variable; it cannot be set")
        }
        if let bad = XMLText.firstForbidden(in: value) {
            throw RuleViolation(name: "variable " + name, value: value,
                                rule: "holds \(codePoint(bad.value)), a character XML 1.0 forbids")
        }
    }
}

/// The syntax of `Profile_Rule`, `_B`..`_D` and `Upgrade_Rule`, as the MPP guides print it:
/// `[ (cond)? ] [ (assignments)! ] [ [options] URL ]`, alternatives separated by `|`. Every part of an
/// alternative is optional, but options need a URL and every alternative but the last needs a condition. URLs
/// are `http`, `https`, `tftp`, `gds://` (activation-code onboarding), `server/path` or `/path`.
public enum RuleSyntax {
    /// The first problem in `rule`, or `nil` when it parses. An empty rule is allowed (nothing is fetched).
    public static func problem(in rule: String, allowsOptions: Bool, requiresServer: Bool) -> String? {
        let bytes = Array(rule.utf8)
        if bytes.isEmpty { return nil }
        var alternatives: [ArraySlice<UInt8>] = []
        var depth = 0
        var quoted = false
        var start = 0
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\"") {
                quoted.toggle()
            } else if quoted {
                continue
            } else if byte == UInt8(ascii: "(") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: ")") || byte == UInt8(ascii: "]") {
                depth -= 1
                if depth < 0 { return "a \"\(Character(Unicode.Scalar(byte)))\" closes nothing" }
            } else if byte == UInt8(ascii: "|") && depth == 0 {
                alternatives.append(bytes[start..<index])
                start = index + 1
            }
        }
        if quoted { return "a quote is not closed" }
        if depth != 0 { return "a \"(\" or \"[\" is not closed" }
        alternatives.append(bytes[start...])
        for (number, alternative) in alternatives.enumerated() {
            var problem = alternativeProblem(Array(alternative), allowsOptions: allowsOptions,
                                             requiresServer: requiresServer)
            if problem == nil, number < alternatives.count - 1, !hasCondition(Array(alternative)) {
                problem = "every alternative but the last needs a ( condition )?"
            }
            if let problem {
                return alternatives.count > 1 ? "in alternative \"\(text(alternative).trimmedSpaces)\": \(problem)" : problem
            }
        }
        return nil
    }

    static func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: Array(bytes), as: UTF8.self) }

    /// True when the alternative starts with a `( ... )?` group.
    static func hasCondition(_ bytes: [UInt8]) -> Bool {
        guard let open = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }), bytes[open] == UInt8(ascii: "("),
              let close = matching(bytes, from: open, open: UInt8(ascii: "("), close: UInt8(ascii: ")")) else { return false }
        return close + 1 < bytes.count && bytes[close + 1] == UInt8(ascii: "?")
    }

    static func alternativeProblem(_ bytes: [UInt8], allowsOptions: Bool, requiresServer: Bool) -> String? {
        var index = 0
        var seenCondition = false, seenAssignments = false, seenOptions = false
        func skipSpaces() { while index < bytes.count && (bytes[index] == 0x20 || bytes[index] == 0x09) { index += 1 } }
        skipSpaces()
        if index == bytes.count { return "an empty alternative" }
        while index < bytes.count {
            skipSpaces()
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "(") {
                guard let close = matching(bytes, from: index, open: UInt8(ascii: "("), close: UInt8(ascii: ")")) else {
                    return "a \"(\" is not closed"
                }
                let inner = text(bytes[(index + 1)..<close]).trimmedSpaces
                let marker = close + 1 < bytes.count ? bytes[close + 1] : 0
                if marker == UInt8(ascii: "?") {
                    if seenCondition { return "two ( condition )? groups" }
                    if inner.isEmpty { return "an empty ( condition )?" }
                    seenCondition = true
                } else if marker == UInt8(ascii: "!") {
                    if seenAssignments { return "two ( assignments )! groups" }
                    let parts = inner.split(separator: ";").map { String($0).trimmedSpaces }.filter { !$0.isEmpty }
                    if parts.isEmpty { return "an empty ( assignments )!" }
                    if let bad = parts.first(where: { !$0.contains("=") }) {
                        return "\"\(bad)\" in ( assignments )! is not NAME = VALUE"
                    }
                    seenAssignments = true
                } else {
                    return "a ( ... ) group must end with ? (a condition) or ! (assignments)"
                }
                index = close + 2
            } else if byte == UInt8(ascii: "[") {
                guard let close = matching(bytes, from: index, open: UInt8(ascii: "["), close: UInt8(ascii: "]")) else {
                    return "a \"[\" is not closed"
                }
                if !allowsOptions { return "takes no [options] before its URL" }
                if seenOptions { return "two [options] blocks" }
                if let problem = optionsProblem(text(bytes[(index + 1)..<close])) { return problem }
                seenOptions = true
                index = close + 1
            } else {
                let url = text(bytes[index...]).trimmedSpaces
                return urlProblem(url, requiresServer: requiresServer)
            }
        }
        if seenOptions { return "[options] need a URL after them" }
        // A condition and/or assignments without a URL: the guides allow it (nothing is fetched).
        return nil
    }

    static func matching(_ bytes: [UInt8], from start: Int, open: UInt8, close: UInt8) -> Int? {
        var depth = 0
        var quoted = false
        for index in start..<bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { quoted.toggle(); continue }
            if quoted { continue }
            if byte == open { depth += 1 }
            if byte == close {
                depth -= 1
                if depth == 0 { return index }
            }
        }
        return nil
    }

    /// Words of an options block; a `"quoted phrase"` is one word.
    static func words(_ text: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var quoted = false
        var inWord = false
        for character in text {
            if character == "\"" {
                quoted.toggle()
                inWord = true
                continue
            }
            if !quoted && (character == " " || character == "\t") {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            current.append(character)
            inWord = true
        }
        if quoted { return nil }
        if inWord { words.append(current) }
        return words
    }

    static func optionsProblem(_ text: String) -> String? {
        guard let words = words(text) else { return "a quote in [options] is not closed" }
        if words.isEmpty { return "an empty [options] block" }
        var seen: Set<String> = []
        var index = 0
        while index < words.count {
            let option = words[index]
            guard ParameterRules.ruleOptions.contains(option) else {
                return "unknown option \"\(Secrets.maskRule(option))\" in [options]; known: "
                    + ParameterRules.ruleOptions.joined(separator: ", ")
            }
            if !seen.insert(option).inserted { return "\(option) given twice" }
            let hasValue = index + 1 < words.count && !words[index + 1].hasPrefix("--") && !words[index + 1].isEmpty
            if ParameterRules.ruleOptionsWithValue.contains(option) && !hasValue { return "\(option) needs a value" }
            index += hasValue ? 2 : 1
        }
        if seen.contains("--uid") != seen.contains("--pwd") { return "--uid and --pwd go together" }
        return nil
    }

    static func urlProblem(_ url: String, requiresServer: Bool) -> String? {
        if url.isEmpty { return "no URL after the ( )? ( )! [ ] parts" }
        if url.contains(where: { $0 == " " || $0 == "\t" }) { return "the URL \"\(url)\" holds a space" }
        let lower = url.lowercased()
        if let range = lower.range(of: "://") {
            let scheme = lower[..<range.lowerBound]
            if scheme == "gds" { return nil }
            guard ["http", "https", "tftp"].contains(scheme) else {
                return "URL scheme \"\(scheme)\" is not http, https, tftp or gds"
            }
            let rest = url[range.upperBound...]
            let host = rest.prefix { $0 != "/" }
            if host.isEmpty { return "the URL \"\(url)\" names no server" }
            return nil
        }
        if url.hasPrefix("/") {
            return requiresServer ? "the URL \"\(url)\" names no server (a server is required here)" : nil
        }
        guard let first = url.unicodeScalars.first,
              (first.properties.isAlphabetic && first.isASCII) || ("0"..."9").contains(first) || first == "$" else {
            return "\"\(url)\" is not a URL (scheme://server/path, server/path or /path)"
        }
        return nil
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmedSpaces: String { trimmingSpaces }
}
