public import Provisioning

/// The rules for a device's serial, model and group, and for the names of model and group scopes. A serial or
/// model is compared with what the phone's certificate carries (an `L=` or `SN:` serial, an `OU=` or `PID:`
/// product), so a value no certificate can carry makes the phone a certain 403; a group is typed on command
/// lines, in scopes (`group:NAME`) and in `{{group}}`.
public enum DeviceFieldRules {
    public static let maximumLength = 64

    /// The characters each field may hold, in words and as a test.
    static func allowed(_ field: String) -> (words: String, test: (UInt8) -> Bool) {
        func alnum(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        switch field {
        case "serial":
            return ("ASCII letters, digits and . _ - :", { alnum($0) || Array("._-:".utf8).contains($0) })
        case "model":
            return ("ASCII letters, digits and . _ - + = (a Cisco product ID such as CP-8841-3PCC)",
                    { alnum($0) || Array("._-+=".utf8).contains($0) })
        default:
            return ("ASCII letters, digits and . _ - + @", { alnum($0) || Array("._-+@".utf8).contains($0) })
        }
    }

    /// Checks one field (`serial`, `model` or `group`); `name` is how the caller calls it (`--serial`, a column).
    public static func check(field: String, value: String, name: String? = nil) throws(RuleViolation) {
        let (words, test) = allowed(field)
        let label = name ?? field
        if value.isEmpty { throw RuleViolation(name: label, value: value, rule: "not empty (leave the field out instead)") }
        if value.utf8.count > maximumLength {
            throw RuleViolation(name: label, value: value, rule: "at most \(maximumLength) characters")
        }
        if let bad = value.unicodeScalars.first(where: { !$0.isASCII || !test(UInt8($0.value)) }) {
            let shown = bad.value < 0x20 || bad.value == 0x7F ? ParameterRules.codePoint(bad.value) : "\"\(bad)\""
            throw RuleViolation(name: label, value: value, rule: "\(shown) is not allowed: only \(words)")
        }
    }

    /// The closest of `known` to `name`: a different case, or at most two edits away; nil when none is close.
    public static func suggestion(for name: String, among known: some Sequence<String>) -> String? {
        let lower = name.lowercased()
        var best: (String, Int)?
        for candidate in known where candidate != name {
            let distance = candidate.lowercased() == lower ? 0 : ParameterCatalogue.editDistance(Array(lower.utf8), Array(candidate.lowercased().utf8), limit: 2)
            if distance <= 2 && distance < max(2, name.utf8.count / 2) + 1, best == nil || distance < best!.1 { best = (candidate, distance) }
        }
        return best?.0
    }
}

/// A model or group name and what uses it.
public struct ScopeNameUse: Sendable, Equatable {
    public var name: String
    public var devices: Int
    public var settings: Int
    public var variables: Int
}

extension ConfigurationEditor {
    /// Every model (`kind` "model") or group ("group") named by a device or a scope, with what uses it.
    public func scopeNames(kind: String) throws(SQLiteError) -> [ScopeNameUse] {
        let column = kind == "model" ? "model" : "group_name"
        let statement = try database.prepare("""
            SELECT name, sum(d), sum(s), sum(v) FROM (
                SELECT \(column) AS name, count(*) AS d, 0 AS s, 0 AS v FROM devices WHERE \(column) IS NOT NULL GROUP BY \(column)
                UNION ALL SELECT target, 0, count(*), 0 FROM settings WHERE scope = ?1 GROUP BY target
                UNION ALL SELECT target, 0, 0, count(*) FROM variables WHERE scope = ?1 GROUP BY target
            ) GROUP BY name ORDER BY name
            """)
        try statement.bind(1, kind)
        var uses: [ScopeNameUse] = []
        while try statement.step() {
            uses.append(ScopeNameUse(name: statement.text(0) ?? "", devices: statement.int(1), settings: statement.int(2),
                                     variables: statement.int(3)))
        }
        return uses
    }
}

/// The key of a device whose `.cfg` anyone may download (`bootstrap cfg`): the file is the whole profile, so the
/// key alone protects it, and a downloader can guess keys offline as fast as its hardware hashes. `openssl enc`'s
/// key derivation (EVP_BytesToKey, one round of MD5 or SHA-256 over passphrase and salt) adds no work, so the
/// passphrase itself must carry the strength: at least `minimumPassphraseLength` characters (22 random
/// characters of the 62 letters and digits are 131 bits, beyond any offline search) of at least
/// `minimumDistinctCharacters` different ones (so `aaaa...` or `abababab...` do not pass on length). An RFC 8188
/// key must be its full 16 bytes (128 bits: the 22-character base64url IKM `provctl device add --encrypt
/// aes128gcm` makes).
public enum BootstrapKeyRule {
    public static let minimumPassphraseLength = 22
    public static let minimumDistinctCharacters = 10
    public static let minimumIKMBytes = 16

    /// Why `device`'s key is too weak for its `.cfg` to be served without identity, or nil.
    public static func problem(_ device: Device) -> String? {
        guard device.bootstrap == .cfg else { return nil }
        switch device.encryption {
        case .none:
            return nil
        case .aes256cbc(let key, _):
            if key.count < minimumPassphraseLength || Set(key).count < minimumDistinctCharacters {
                return "bootstrap cfg serves this device's .cfg to anyone, who may guess its key offline: the key must be "
                    + "at least \(minimumPassphraseLength) characters with \(minimumDistinctCharacters) different ones "
                    + "(for example: openssl rand -base64 24)"
            }
            return nil
        case .aes128gcm(let key):
            if (key.ikmBytes?.count ?? 0) < minimumIKMBytes {
                return "bootstrap cfg serves this device's .cfg to anyone: its RFC 8188 key must be \(minimumIKMBytes) bytes"
            }
            return nil
        }
    }
}
