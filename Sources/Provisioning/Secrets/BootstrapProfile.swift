// What a caller at bootstrap trust (`TrustLevel.bootstrap`, Authentication/Trust.swift) may receive: the
// profile without its secrets.

extension ResolvedRows {
    /// The bootstrap profile's parameters: every secret parameter (`Secrets.isSecret`: passwords, keys, PSKs,
    /// PINs, communities, activation codes, licences, `GPP_SA`..`GPP_SD`, `IKM_HTTP_Encrypt_Content`) left out,
    /// the `--key`/`--pwd` options of rules removed with their arguments, and every URL's user info removed.
    func withoutSecrets(_ rows: LayerRows) -> ResolvedRows {
        var kept = ResolvedRows()
        for index in 0..<count {
            let row = self.row(index)
            let name = rows.string(rows.nameRange(row))
            if Secrets.isSecret(name) { continue }
            let value = values.withUnsafeBufferPointer {
                String(decoding: UnsafeBufferPointer(rebasing: $0[valueRange(index)]), as: UTF8.self)
            }
            var cleaned = Secrets.removingRuleSecrets(value)
            let start = kept.values.count
            cleaned.withUTF8 { kept.values.append(contentsOf: $0) }
            kept.table.append(row)
            kept.table.append(access(index).rawValue)
            kept.table.append(start)
            kept.table.append(kept.values.count)
        }
        return kept
    }
}

extension Secrets {
    /// `value` without the `--key`/`--pwd` options of a rule and their arguments (an empty `[ ]` left behind
    /// goes too): `[--uid u --pwd p] https://x` becomes `[--uid u] https://x`, `[--key k] http://x` becomes
    /// `http://x`.
    /// A URL's user info (`https://user:pass@host/`) goes too.
    public static func removingRuleSecrets(_ value: String) -> String {
        let value = removingURLUserInfo(value)
        let masked = maskRule(value)
        guard masked != value else { return value }
        var bytes = Array(masked.utf8)
        for option in ["--key", "--pwd"] {
            while let start = find(Array(option.utf8), in: bytes) {
                var end = start + option.utf8.count
                while end < bytes.count && (bytes[end] == 0x20 || bytes[end] == 0x09 || bytes[end] == UInt8(ascii: "=")) { end += 1 }
                let stars = Array(mask.utf8)
                if end + stars.count <= bytes.count && Array(bytes[end..<(end + stars.count)]) == stars { end += stars.count }
                while end < bytes.count && (bytes[end] == 0x20 || bytes[end] == 0x09) { end += 1 }
                bytes.removeSubrange(start..<end)
            }
        }
        // `[ ]` or `[]` with nothing left inside, and the space after it.
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "[") {
                var close = index + 1
                while close < bytes.count && (bytes[close] == 0x20 || bytes[close] == 0x09) { close += 1 }
                if close < bytes.count && bytes[close] == UInt8(ascii: "]") {
                    var end = close + 1
                    while end < bytes.count && bytes[end] == 0x20 { end += 1 }
                    bytes.removeSubrange(index..<end)
                    continue
                }
            }
            index += 1
        }
        // A space left before a closing bracket.
        var out: [UInt8] = []
        for byte in bytes {
            if byte == UInt8(ascii: "]"), out.last == 0x20 { out.removeLast() }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle {
            return start
        }
        return nil
    }
}
