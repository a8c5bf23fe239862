/// Every way the service refuses a request: the one catalogue of statuses, one-line reasons and (in
/// `CGIResponse(refusal:)`) the headers each case adds. The rooms throw their own errors (`RequestError`,
/// `IdentityError`, `AuthenticationError`, `ReportError`, `ServingError`), each mapped to one of these cases in
/// Refusal+Rooms.swift; nothing else spells a status or a reason. The refusal table of the tests (TestSupport) is
/// checked against `allCases`.
public enum RefusalKind: String, Sendable, CaseIterable {
    // The request (Request/): what was asked, before anyone is identified.
    case methodNotAllowed
    case unsupportedFileType
    // Who the certificate says (Identity/).
    case certificateNotVerified
    case unreadableCertificate
    case genericCertificate
    case noMACInCertificate
    case malformedMACInCertificate
    case macMismatch
    // A caller without a certificate: accounts and bootstrap (Authentication/Trust.swift).
    case authenticationRequired
    case wrongCredentials
    case tooManyFailedLogins
    case authenticationUnavailable
    case bootstrapServesOnlyCfg
    // The device and its profile (ProfileService).
    case unknownDevice
    case deviceDisabled
    case serialMismatch
    case modelMismatch
    case noEncryptionConfigured
    case unknownPartition
    case databaseBusy
    case serverError
    // A phone's report (Report/).
    case reportTooLarge
    case emptyReport
    case undecryptableReport
    case unreadableReport

    /// The HTTP status.
    public var status: Int {
        switch self {
        case .emptyReport, .undecryptableReport, .unreadableReport: 400
        case .authenticationRequired, .wrongCredentials: 401
        case .certificateNotVerified, .unreadableCertificate, .genericCertificate, .noMACInCertificate,
             .malformedMACInCertificate, .macMismatch, .bootstrapServesOnlyCfg, .deviceDisabled, .serialMismatch,
             .modelMismatch: 403
        case .unsupportedFileType, .unknownDevice, .noEncryptionConfigured, .unknownPartition: 404
        case .methodNotAllowed: 405
        case .reportTooLarge: 413
        case .tooManyFailedLogins: 429
        case .serverError: 500
        case .authenticationUnavailable, .databaseBusy: 503
        }
    }

    /// The one-line reason sent as the body and logged. It never holds anything internal.
    public var reason: String {
        switch self {
        case .methodNotAllowed: "method not allowed"
        case .unsupportedFileType: "unsupported file type"
        case .certificateNotVerified: "certificate not verified"
        case .unreadableCertificate: "unreadable certificate"
        case .genericCertificate: "generic certificate"
        case .noMACInCertificate: "no MAC in certificate"
        case .malformedMACInCertificate: "malformed MAC in certificate"
        case .macMismatch: "MAC mismatch"
        case .authenticationRequired: "authentication required"
        case .wrongCredentials: "wrong credentials"
        case .tooManyFailedLogins: "too many failed logins"
        case .authenticationUnavailable: "authentication unavailable"
        case .bootstrapServesOnlyCfg: "bootstrap serves only the encrypted .cfg"
        case .unknownDevice: "unknown device"
        case .deviceDisabled: "device disabled"
        case .serialMismatch: "serial mismatch"
        case .modelMismatch: "model mismatch"
        case .noEncryptionConfigured: "no encryption configured"
        case .unknownPartition: "unknown partition"
        case .databaseBusy: "database busy"
        case .serverError: "server error"
        case .reportTooLarge: "report too large"
        case .emptyReport: "empty report"
        case .undecryptableReport: "undecryptable report"
        case .unreadableReport: "unreadable report"
        }
    }

    /// The answer names the methods served (`Allow`).
    public var allowsHeader: Bool { self == .methodNotAllowed }
    /// The phone is told when to try again (`Retry-After`).
    public var retries: Bool {
        switch self {
        case .databaseBusy, .authenticationUnavailable, .tooManyFailedLogins: true
        default: false
        }
    }
    /// The answer carries the Digest challenge (`WWW-Authenticate`).
    public var challenges: Bool { self == .authenticationRequired || self == .wrongCredentials }
}

/// A request the server answers with a 4xx or 5xx: an ordinary outcome, not a crash. Not thrown: made from a
/// room's error (`Refusing.refusal`) where the service answers.
public struct Refusal: Sendable, Equatable, CustomStringConvertible {
    /// Which refusal (`RefusalKind`): its status, reason and headers.
    public var kind: RefusalKind
    /// More for the log line only (which variable was undefined, what SQLite said). Never a secret.
    public var detail: String?
    /// A 401's `WWW-Authenticate` value (the Digest challenge).
    public var challenge: String?
    /// A 429's or 503's `Retry-After`, in seconds, when it is not the default 5.
    public var retryAfter: Int?

    public init(_ kind: RefusalKind, detail: String? = nil, challenge: String? = nil, retryAfter: Int? = nil) {
        self.kind = kind
        self.detail = detail
        self.challenge = challenge
        self.retryAfter = retryAfter
    }

    /// The HTTP status.
    public var status: Int { kind.status }
    /// The one-line class sent as the body and logged: `unknown device`, `MAC mismatch`, ...
    public var reason: String { kind.reason }

    public var description: String { "\(status) \(reason)" + (detail.map { ": \($0)" } ?? "") }
}
