/// Which values are secrets, and their masking: the one classification every part uses (bootstrap stripping in
/// the CGI, masking in every provctl output, history, export, drift, dry runs, log lines). It is rule-based on the
/// parameter's name, so that a name added to the catalogue (`ProvisioningAdmin/Catalogue/catalogue.tsv`) is
/// classified without anyone remembering to; `CatalogueSecretsTests` walks the whole catalogue and fails on any
/// secret-looking name these rules leave out (docs/security.md, "One definition of a secret").
/// `provctl` shows them only with `--show-secrets`; the audit log always stores them masked.
public enum Secrets {
    /// What a masked value reads as.
    public static let mask = "***"

    /// True for a parameter whose whole value is a secret. By the name's words (split at `_ - / .`, at a
    /// lower-to-upper case change and between letters and digits, case ignored):
    /// - passwords: a name holding `Passwd` or `Password`, or the word `Pwd`, `Passphrase`;
    /// - keys: `IKM_`, `Pre_Shared`, `Secret`, a name ending in `_Key`, the word `PSK` (`PSK_3`, `pskKey_1_`),
    ///   `Key` after `Private`, `Auth`, `WEP`, `Shared`, `Encryption`, `AES`, `API`, `SSH`, `VPN`, `WPA`
    ///   (`SRTP_Private_Key_1_`, `NTP_Auth_Key`, `wepKey0_1_`), but not a button (`Line_Key_1_`);
    /// - `PIN`, `Community` (SNMP), `Token`, `Credential(s)`, `Licen[cs]e(s)` (`License_Keys`), `Activation` with
    ///   `Code`, a client certificate (`Client_Certificate`, `clientCert_1_`: it may carry its private key);
    /// - `GPP_SA`..`GPP_SD` (the guides' secure general-purpose parameters).
    public static func isSecret(_ name: String) -> Bool {
        let lower = lowercased(name)
        if contains(lower, "passwd") || contains(lower, "password") || lower.starts(with: "gpp_s".utf8)
            || contains(lower, "ikm_") || contains(lower, "secret") || lower.elementsEqual("key".utf8)
            || lower.reversed().starts(with: "_key".utf8.reversed()) || contains(lower, "pre_shared") {
            return true
        }
        let words = Self.words(name)
        var hasActivation = false, hasCode = false, hasClient = false, hasCertificate = false
        for word in words {
            if secretWords.contains(word) { return true }
            if word == Array("activation".utf8) { hasActivation = true }
            if word == Array("code".utf8) { hasCode = true }
            if word == Array("client".utf8) { hasClient = true }
            if word == Array("cert".utf8) || word == Array("certificate".utf8) { hasCertificate = true }
        }
        // `Key` as the last word after a qualifier (`wepKeyId_1_`, the key's number, is not the key).
        if words.count >= 2, words[words.count - 1] == keyWord, keyQualifiers.contains(words[words.count - 2]) { return true }
        return (hasActivation && hasCode) || (hasClient && hasCertificate)
    }

    static let keyWord = Array("key".utf8)
    /// Words that make a name secret wherever they stand.
    static let secretWords: [[UInt8]] = ["pwd", "psk", "pin", "passphrase", "community", "token", "credential",
                                         "credentials", "license", "licenses", "licence", "licences"].map { Array($0.utf8) }
    /// The words before `Key` that make it key material rather than a button.
    static let keyQualifiers: [[UInt8]] = ["private", "auth", "wep", "psk", "shared", "encryption", "aes", "api",
                                           "ssh", "vpn", "wpa", "wpa2", "srtp"].map { Array($0.utf8) }

    /// The lower-cased words of a name, numbers left out: split at anything not a letter or digit, at a
    /// lower-to-upper case change (`wepKey0` is `wep key`) and between letters and digits.
    static func words(_ name: String) -> [[UInt8]] {
        var words: [[UInt8]] = []
        var current: [UInt8] = []
        var currentIsDigits = false
        var lastWasLower = false
        func flush() {
            if !current.isEmpty && !currentIsDigits { words.append(current) }
            current = []
        }
        for byte in name.utf8 {
            let isUpper = byte >= 0x41 && byte <= 0x5A, isLower = byte >= 0x61 && byte <= 0x7A
            let isDigit = byte >= 0x30 && byte <= 0x39
            guard isUpper || isLower || isDigit else {
                flush()
                lastWasLower = false
                continue
            }
            if !current.isEmpty && (isDigit != currentIsDigits || (isUpper && lastWasLower)) { flush() }
            if current.isEmpty { currentIsDigits = isDigit }
            current.append(isUpper ? byte | 0x20 : byte)
            lastWasLower = isLower
        }
        flush()
        return words
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

    /// `value` with the argument of each `--key` and `--pwd` replaced by `***` (a quoted phrase is one argument),
    /// and the password of every URL's user info too (`https://user:***@host/`).
    public static func maskRule(_ value: String) -> String {
        let value = maskURLPasswords(value)
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

    /// The `user:password@` of a URL (`scheme://` then user info up to `@`, before any `/`), as a byte range of
    /// the user info and of its password: each URL of `bytes` in order.
    static func urlUserInfo(_ bytes: [UInt8]) -> [(userInfo: Range<Int>, password: Range<Int>?)] {
        var found: [(Range<Int>, Range<Int>?)] = []
        var index = 0
        while index + 3 <= bytes.count {
            guard bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: "/"), index + 2 < bytes.count,
                  bytes[index + 2] == UInt8(ascii: "/") else {
                index += 1
                continue
            }
            let start = index + 3
            var cursor = start
            var colon: Int? = nil
            var at: Int? = nil
            while cursor < bytes.count {
                let byte = bytes[cursor]
                if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") || byte == 0x20
                    || byte == 0x09 || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "<") {
                    break
                }
                if byte == UInt8(ascii: "@") { at = cursor }
                if byte == UInt8(ascii: ":") && colon == nil && at == nil { colon = cursor }
                cursor += 1
            }
            if let at {
                let password = colon.flatMap { $0 < at ? ($0 + 1)..<at : nil }
                found.append((start..<(at + 1), password))
            }
            index = max(cursor, index + 1)
        }
        return found
    }

    /// `value` with each URL's password (`scheme://user:password@`) replaced by `***`.
    public static func maskURLPasswords(_ value: String) -> String {
        editingURLUserInfo(value) { bytes, _, password in
            if let password, !password.isEmpty { bytes.replaceSubrange(password, with: Array(mask.utf8)) }
        }
    }

    /// `value` with each URL's user info (`scheme://user:password@`) removed: what a caller below the
    /// credentials' trust level may see.
    public static func removingURLUserInfo(_ value: String) -> String {
        editingURLUserInfo(value) { bytes, userInfo, _ in bytes.removeSubrange(userInfo) }
    }

    /// `value` with `edit` applied to each URL's user info and password ranges, last first (so earlier ranges
    /// stay valid); the value itself when it holds none.
    static func editingURLUserInfo(_ value: String, _ edit: (inout [UInt8], Range<Int>, Range<Int>?) -> Void) -> String {
        let bytes = Array(value.utf8)
        guard contains(bytes, "://") else { return value }
        let found = urlUserInfo(bytes)
        guard !found.isEmpty else { return value }
        var out = bytes
        for (userInfo, password) in found.reversed() { edit(&out, userInfo, password) }
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
