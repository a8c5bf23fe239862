import Provisioning
import ProvisioningAdmin

/// The value to store for a parameter after its rules (ParameterRules, FACTS.md §6); warnings go to stderr.
/// A broken rule is a `Failure(.refused)` naming the parameter, the value (masked when secret) and the rule.
func checkedSetting(name: String, value: String, source: String? = nil) throws -> String {
    do {
        let checked = try ParameterRules.check(name: name, value: value, listedValues: true)
        for warning in checked.warnings { warn("provctl: warning: " + (source.map { $0 + ": " } ?? "") + warning) }
        return checked.value
    } catch {
        throw Failure.refused(error, source: source)
    }
}

/// Checks a variable's name and value, or fails with `Failure(.refused)`.
func checkVariable(name: String, value: String, source: String? = nil) throws {
    do {
        try ParameterRules.checkVariable(name: name, value: value)
    } catch {
        throw Failure.refused(error, source: source)
    }
}

/// A setting as one audit value: the value masked, and its ua.
func auditValue(_ setting: Setting?) -> String? {
    guard let setting else { return nil }
    return Secrets.mask(name: setting.name, value: setting.value) + (setting.access.map { " [ua=\($0.rawValue)]" } ?? "")
        + (setting.value.isEmpty ? " [\(intentWord(setting.intent))]" : "")
}

/// An empty value's intent in one word: empty, leave, or intent unknown.
func intentWord(_ intent: EmptyIntent?) -> String {
    switch intent {
    case .empty: "empty"
    case .keep: "leave"
    case nil: "intent unknown"
    }
}

/// How an empty value is shown to the admin: what the phone does with it.
func intentText(_ intent: EmptyIntent?) -> String {
    switch intent {
    case .empty: "empty: sets the phone's value to empty"
    case .keep: "leave: the phone keeps its own value"
    case nil: "intent unknown: served as leave (<X/>); provctl settle-empty decides"
    }
}

/// A variable as one audit value, masked when its name or a secret parameter that uses it says so.
func auditValue(_ variable: Variable?, secretNames: Set<String>) -> String? {
    guard let variable else { return nil }
    if secretNames.contains(variable.name) { return variable.value.isEmpty ? "" : Secrets.mask }
    return Secrets.mask(variable: variable.name, value: variable.value)
}
