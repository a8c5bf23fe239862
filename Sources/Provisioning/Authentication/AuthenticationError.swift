/// Why a caller without a usable certificate was not let in by its credentials or the bootstrap rule. The
/// service answers each with the refusal `Refusing` (Response/Refusal+Rooms.swift) names.
public enum AuthenticationError: Error, Sendable, Equatable {
    /// The replay and failure store (`auth.db`) could not be opened: what it said.
    case stateUnavailable(String)
    /// Too many failed logins for the name tried (nil when the header named nobody) from the address: wait
    /// `seconds`.
    case backingOff(user: String?, address: String, seconds: Int)
    /// Digest credentials on a nonce past its lifetime: the fresh challenge (`stale=true`).
    case staleNonce(challenge: String)
    /// Credentials that do not hold (why, never the password) and the fresh challenge.
    case rejected(why: String, challenge: String)
    /// No credentials, the device has an account: the challenge, and why the certificate did not do.
    case challenged(certificate: IdentityError, challenge: String)
    /// No credentials and no bootstrap for the device: the certificate's own refusal stands.
    case certificate(IdentityError)
    /// Bootstrap trust serves this device only its encrypted `.cfg`, and something else was asked.
    case bootstrapServesOnlyCfg
}
