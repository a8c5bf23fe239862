import Provisioning
import ProvisioningAdmin

extension AdminSession {
    /// provctl's session: the audit names `SUDO_USER` or `USER`, `--new-name` anywhere on the command line accepts
    /// new names, and each warning is printed to stderr as "provctl: warning: ..." (and kept for the JSON result).
    static func provctl(showSecrets: Bool = false) -> AdminSession {
        AdminSession(who: currentUser(), disclosure: Disclosure(showSecrets: showSecrets), acceptNewNames: newNamesAccepted,
                     warn: printWarning)
    }
}

/// Prints an engine's warning as provctl's own (`warn`).
private func printWarning(_ text: String) { warn("provctl: warning: " + text) }

/// The value to store for a parameter after its rules (`AdminSession.checkedSetting`); warnings go to stderr.
func checkedSetting(name: String, value: String, source: String? = nil) throws -> String {
    try AdminSession.provctl().checkedSetting(name: name, value: value, source: source)
}

/// Checks a variable's name and value, or fails with `Failure(.refused)`.
func checkVariable(name: String, value: String, source: String? = nil) throws {
    try AdminSession.provctl().checkVariable(name: name, value: value, source: source)
}
