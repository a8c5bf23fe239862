/// Which values are secrets, and their masking: SIP and admin passwords, `GPP_SA`..`GPP_SD`, key material, the
/// `--key`/`--pwd` of a rule, encryption keys. `provctl` shows them only with `--show-secrets`; the audit log
/// always stores them masked.
public enum Secrets {
    /// What a masked value reads as.
    public static let mask = "***"

    /// True for a parameter whose whole value is a secret: names holding `Passwd`, `Password`, `Secret`, `Pre_Shared`
    /// or `IKM_`, names ending in `_Key`, and `GPP_SA`..`GPP_SD`.
    public static func isSecret(_ name: String) -> Bool {
        let lower = lowercased(name)
        return contains(lower, "passwd") || contains(lower, "password") || lower.starts(with: "gpp_s".utf8)
            || contains(lower, "ikm_") || contains(lower, "secret") || lower.elementsEqual("key".utf8)
            || lower.reversed().starts(with: "_key".utf8.reversed()) || contains(lower, "pre_shared")
    }

    /// True for a `{{variable}}` whose name says it holds a secret (`sip_password`, `pwd_1`, `aes_key`, ...).
    public static func isSecretVariable(_ name: String) -> Bool {
        let lower = lowercased(name)
        return isSecret(name) || contains(lower, "pass") || contains(lower, "pwd") || contains(lower, "key")
            || contains(lower, "secret") || contains(lower, "token")
    }

    // Byte searches: the standard library's String.contains(String) builds a searcher per call, far too slow for
    // an import of 100,000 rows.
    static func lowercased(_ text: String) -> [UInt8] {
        text.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
    }

    static func contains(_ haystack: [UInt8], _ needle: StaticString) -> Bool {
        let count = needle.utf8CodeUnitCount
        guard haystack.count >= count else { return false }
        return needle.withUTF8Buffer { pattern in
            for start in 0...(haystack.count - count) {
                var index = 0
                while index < count && haystack[start + index] == pattern[index] { index += 1 }
                if index == count { return true }
            }
            return false
        }
    }

    /// The value as it may be shown: `***` for a secret parameter, else the value with any `--key`/`--pwd`
    /// argument masked.
    public static func mask(name: String, value: String) -> String {
        isSecret(name) ? (value.isEmpty ? "" : mask) : maskRule(value)
    }

    /// `value` with the argument of each `--key` and `--pwd` replaced by `***` (a quoted phrase is one argument).
    public static func maskRule(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard contains(bytes, "--") else { return value }
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            var matched = false
            for option in ["--key", "--pwd"] {
                let word = Array(option.utf8)
                guard index + word.count <= bytes.count, Array(bytes[index..<(index + word.count)]) == word else { continue }
                var cursor = index + word.count
                let boundary = cursor == bytes.count || bytes[cursor] == 0x20 || bytes[cursor] == 0x09 || bytes[cursor] == UInt8(ascii: "=")
                guard boundary else { continue }
                out += word
                while cursor < bytes.count && (bytes[cursor] == 0x20 || bytes[cursor] == 0x09 || bytes[cursor] == UInt8(ascii: "=")) {
                    out.append(bytes[cursor])
                    cursor += 1
                }
                if cursor < bytes.count {
                    if bytes[cursor] == UInt8(ascii: "\"") {
                        cursor += 1
                        while cursor < bytes.count && bytes[cursor] != UInt8(ascii: "\"") { cursor += 1 }
                        if cursor < bytes.count { cursor += 1 }
                    } else {
                        while cursor < bytes.count && bytes[cursor] != 0x20 && bytes[cursor] != 0x09
                            && bytes[cursor] != UInt8(ascii: "]") { cursor += 1 }
                    }
                    out += mask.utf8
                }
                index = cursor
                matched = true
                break
            }
            if !matched {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A variable's value as it may be shown.
    public static func mask(variable name: String, value: String) -> String {
        isSecretVariable(name) ? (value.isEmpty ? "" : mask) : maskRule(value)
    }

    /// The `{{names}}` a template refers to.
    public static func referencedVariables(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            let after = rest[open.upperBound...]
            guard let close = after.range(of: "}}") else { break }
            names.append(String(after[..<close.lowerBound]).trimmingSpaces)
            rest = after[close.upperBound...]
        }
        return names
    }
}

extension Substring {
    package func range(of needle: String) -> Range<Substring.Index>? {
        let needleBytes = Array(needle.utf8)
        var index = startIndex
        while index < endIndex {
            if self[index...].utf8.starts(with: needleBytes) {
                return index..<self.utf8.index(index, offsetBy: needleBytes.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}

extension String {
    package func range(of needle: String) -> Range<String.Index>? {
        self[...].range(of: needle)
    }
}
