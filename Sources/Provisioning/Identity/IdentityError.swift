/// Why the client certificate identifies no phone. The service answers each with the refusal `Refusing`
/// (Response/Refusal+Rooms.swift) names.
public enum IdentityError: Error, Sendable, Equatable {
    /// mod_ssl did not verify a certificate: its `SSL_CLIENT_VERIFY` (80 characters), nil when not known.
    case notVerified(String?)
    /// The certificate's PEM or DER could not be read: what the decoder said.
    case unreadable(String)
    /// The pre-2.0 `ciscogeneric` certificate: shared by every phone, it names none.
    case generic
    /// The subject has neither ST (S) nor a `CN=…-SEP<MAC>`.
    case noMAC
    /// The subject's field that should hold the MAC (`CN` or `ST`) and its value (80 characters).
    case malformedMAC(field: String, value: String)
}
