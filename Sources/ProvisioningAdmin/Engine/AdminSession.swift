public import Provisioning

/// What may be printed of a stored value: secrets masked as `***` unless `showSecrets`.
public struct Disclosure: Sendable {
    public var showSecrets: Bool

    public init(showSecrets: Bool = false) { self.showSecrets = showSecrets }

    /// A parameter value as it may be shown.
    public func shown(name: String, value: String) -> String {
        showSecrets ? value : Secrets.mask(name: name, value: value)
    }

    /// A variable value as it may be shown; `secretNames` are the variables a secret uses (`secretVariableNames`).
    public func shown(variable name: String, value: String, secretNames: Set<String> = []) -> String {
        if showSecrets { return value }
        return secretNames.contains(name) ? (value.isEmpty ? "" : Secrets.mask) : Secrets.mask(variable: name, value: value)
    }

    /// An encryption key as it may be shown.
    public func shown(key: String?) -> String? {
        guard let key else { return nil }
        return showSecrets ? key : Secrets.mask
    }
}

/// Who asks the engine for a change, and how: the audit's user, what may be shown, whether new model or group
/// names that look like typos are meant, and where warnings go (provctl prints them to stderr as they come; an
/// API collects them into its answer).
public struct AdminSession {
    /// The user the audit log names.
    public var who: String
    public var disclosure: Disclosure
    /// `--new-name`: accept a new name that differs from a known one only by case, or is close to a Cisco product.
    public var acceptNewNames: Bool
    /// Receives each warning, without any prefix ("parameter X is not in Cisco's guides ...").
    public var warn: (String) -> Void

    public init(who: String, disclosure: Disclosure = Disclosure(), acceptNewNames: Bool = false,
                warn: @escaping (String) -> Void = { _ in }) {
        self.who = who
        self.disclosure = disclosure
        self.acceptNewNames = acceptNewNames
        self.warn = warn
    }
}
