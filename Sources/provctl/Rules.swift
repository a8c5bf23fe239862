import ArgumentParser
import Provisioning

/// What a value must be before it is stored. (The full catalogue of FACTS.md §6 arrives with provctl's issue.)
enum ParameterRules {
    static func check(name: String, value: String) throws {
        guard XMLText.isValidName(name) else {
            throw ValidationError("\(name): not a valid parameter name (letters, digits, _ - . ; a letter or _ first)")
        }
        if let bad = XMLText.firstForbidden(in: value) {
            throw ValidationError("\(name): value holds U+\(String(bad.value, radix: 16, uppercase: true)), a character XML 1.0 forbids")
        }
    }

    static func checkVariable(name: String, value: String) throws {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
        guard !name.isEmpty, allowed, !name.hasPrefix("cert.") else {
            throw ValidationError("variable \(name): names are letters, digits, _ - . and may not start with cert.")
        }
        guard !ResolvedSettings.builtInNames.contains(name) else {
            throw ValidationError("variable \(name): a server variable; it cannot be set")
        }
        if let bad = XMLText.firstForbidden(in: value) {
            throw ValidationError("variable \(name): value holds U+\(String(bad.value, radix: 16, uppercase: true)), a character XML 1.0 forbids")
        }
    }
}

/// Parameters whose values are secrets, and their masking.
enum Secrets {
    static func isSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.contains("passwd") || lower.contains("password") || lower.hasPrefix("gpp_s")
            || lower.contains("ikm_") || lower.contains("secret") || lower == "key"
    }

    static func mask(name: String, value: String) -> String { isSecret(name) ? "***" : value }
}
