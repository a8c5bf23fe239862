/// An error a room throws that the service answers with a refusal. The one place where what went wrong, in each
/// room's terms, becomes a `RefusalKind` (status, reason, headers: the catalogue in Refusal.swift) and the log
/// line's detail: the rooms know nothing of HTTP.
public protocol Refusing: Error {
    /// The refusal the phone gets, with the detail for the log line.
    var refusal: Refusal { get }
}

extension RequestError: Refusing {
    public var refusal: Refusal {
        switch self {
        case .methodNotServed(let method): Refusal(.methodNotAllowed, detail: "method \(method)")
        case .noSuchForm(let ending): Refusal(.unsupportedFileType, detail: "ending .\(ending)")
        }
    }
}

extension IdentityError: Refusing {
    public var refusal: Refusal {
        switch self {
        case .notVerified(let verify): Refusal(.certificateNotVerified, detail: verify.map { "SSL_CLIENT_VERIFY=\($0)" })
        case .unreadable(let why): Refusal(.unreadableCertificate, detail: why)
        case .generic: Refusal(.genericCertificate, detail: "the pre-2.0 ciscogeneric certificate identifies no phone")
        case .noMAC: Refusal(.noMACInCertificate, detail: "subject has neither ST/S nor CN=...-SEP<MAC>")
        case .malformedMAC(let field, let value): Refusal(.malformedMACInCertificate, detail: "\(field)=\(value)")
        }
    }
}

extension AuthenticationError: Refusing {
    public var refusal: Refusal {
        switch self {
        case .stateUnavailable(let why): Refusal(.authenticationUnavailable, detail: "auth state: \(why)")
        case .backingOff(let user, let address, let seconds):
            Refusal(.tooManyFailedLogins, detail: "back-off for \(user ?? "-") from \(address)", retryAfter: seconds)
        case .staleNonce(let challenge): Refusal(.authenticationRequired, detail: "stale nonce", challenge: challenge)
        case .rejected(let why, let challenge): Refusal(.wrongCredentials, detail: why, challenge: challenge)
        case .challenged(let certificate, let challenge):
            Refusal(.authenticationRequired, detail: certificate.refusal.reason, challenge: challenge)
        case .certificate(let error): error.refusal
        case .bootstrapServesOnlyCfg: Refusal(.bootstrapServesOnlyCfg, detail: "no certificate, no account")
        }
    }
}

extension ReportError: Refusing {
    public var refusal: Refusal {
        switch self {
        case .tooLarge(let limit): Refusal(.reportTooLarge, detail: "more than \(limit) bytes")
        case .empty: Refusal(.emptyReport)
        case .encryptedWithoutKey: Refusal(.undecryptableReport, detail: "encrypted, and the device has no key")
        case .notTheDevicesKey: Refusal(.undecryptableReport, detail: "not the device's key")
        case .badGzip(let why): Refusal(.unreadableReport, detail: "gzip: \(why)")
        case .notXML: Refusal(.unreadableReport, detail: "not XML")
        }
    }
}

extension ServingError: Refusing {
    public var refusal: Refusal {
        switch self {
        case .identity(let error): error.refusal
        case .authentication(let error): error.refusal
        case .report(let error): error.refusal
        case .macMismatch(let named, let caller, let proof):
            Refusal(.macMismatch, detail: "path names \(named), \(proof) is \(caller)")
        case .unknownDevice: Refusal(.unknownDevice)
        case .expectedMismatch(let why): Refusal(.unknownDevice, detail: why)
        case .deviceDisabled: Refusal(.deviceDisabled)
        case .serialMismatch(let stored, let presented):
            Refusal(.serialMismatch, detail: "stored \(stored), certificate \(presented ?? "none")")
        case .modelMismatch(let stored, let presented):
            Refusal(.modelMismatch, detail: "stored \(stored), certificate \(presented ?? "none")")
        case .render(.database(let error)), .database(let error):
            // A lock held past the wait: 503 with Retry-After, the phone tries again; anything else a 500.
            error.isBusy ? Refusal(.databaseBusy, detail: "\(error)")
                : Refusal(.serverError, detail: "database unavailable: \(error)")
        case .render(.settings(let error)): Refusal(.serverError, detail: "\(error)")
        case .render(.encoding(.noKey)): Refusal(.noEncryptionConfigured, detail: "device has encryption none")
        case .render(.encoding(let error)): Refusal(.serverError, detail: "\(error)")
        case .render(.unknownPartition(let name)):
            Refusal(.unknownPartition, detail: "no settings in partition \(name) for this device")
        case .configurationChangedDuringRead:
            Refusal(.databaseBusy, detail: "the configuration changed while it was read without shared memory")
        case .unexpected(let detail): Refusal(.serverError, detail: detail)
        }
    }
}
