import Testing
import Provisioning

/// Each room's error becomes one refusal of the catalogue and one detail for the log line (Refusal+Rooms.swift).
/// The refusal table (TestSupport) proves status, body and headers at four levels; this pins the rest of the
/// log line: the `detail=` each error gives, as it read when the rooms threw `Refusal` literals.
@Suite("room errors as refusals")
struct RoomErrorTests {
    static let mac = MACAddress("000e08abcdef")!
    static let other = MACAddress("000e08000001")!
    static let busy = SQLiteError(code: 5, message: "database is locked", sql: nil)
    static let broken = SQLiteError(code: 11, message: "database disk image is malformed", sql: nil)

    static let cases: [(any Refusing, RefusalKind, String?)] = [
        (RequestError.methodNotServed("PUT"), .methodNotAllowed, "method PUT"),
        (RequestError.noSuchForm(ending: "txt"), .unsupportedFileType, "ending .txt"),
        (IdentityError.notVerified("NONE"), .certificateNotVerified, "SSL_CLIENT_VERIFY=NONE"),
        (IdentityError.notVerified(nil), .certificateNotVerified, nil),
        (IdentityError.unreadable("bad base64"), .unreadableCertificate, "bad base64"),
        (IdentityError.generic, .genericCertificate, "the pre-2.0 ciscogeneric certificate identifies no phone"),
        (IdentityError.noMAC, .noMACInCertificate, "subject has neither ST/S nor CN=...-SEP<MAC>"),
        (IdentityError.malformedMAC(field: "ST", value: "00:0e"), .malformedMACInCertificate, "ST=00:0e"),
        (IdentityError.malformedMAC(field: "CN", value: "SEPx"), .malformedMACInCertificate, "CN=SEPx"),
        (AuthenticationError.stateUnavailable("no folder"), .authenticationUnavailable, "auth state: no folder"),
        (AuthenticationError.backingOff(user: "alice", address: "10.0.0.9", seconds: 30), .tooManyFailedLogins,
         "back-off for alice from 10.0.0.9"),
        (AuthenticationError.backingOff(user: nil, address: "-", seconds: 30), .tooManyFailedLogins, "back-off for - from -"),
        (AuthenticationError.staleNonce(challenge: "Digest x"), .authenticationRequired, "stale nonce"),
        (AuthenticationError.rejected(why: "wrong realm", challenge: "Digest x"), .wrongCredentials, "wrong realm"),
        (AuthenticationError.challenged(certificate: .generic, challenge: "Digest x"), .authenticationRequired,
         "generic certificate"),
        (AuthenticationError.certificate(.noMAC), .noMACInCertificate, "subject has neither ST/S nor CN=...-SEP<MAC>"),
        (AuthenticationError.bootstrapServesOnlyCfg, .bootstrapServesOnlyCfg, "no certificate, no account"),
        (ReportError.tooLarge(limit: 1024), .reportTooLarge, "more than 1024 bytes"),
        (ReportError.empty, .emptyReport, nil),
        (ReportError.encryptedWithoutKey, .undecryptableReport, "encrypted, and the device has no key"),
        (ReportError.notTheDevicesKey, .undecryptableReport, "not the device's key"),
        (ReportError.badGzip("truncated"), .unreadableReport, "gzip: truncated"),
        (ReportError.notXML, .unreadableReport, "not XML"),
        (ServingError.macMismatch(named: other, caller: mac, proof: "certificate"), .macMismatch,
         "path names 000e08000001, certificate is 000e08abcdef"),
        (ServingError.macMismatch(named: other, caller: mac, proof: "account"), .macMismatch,
         "path names 000e08000001, account is 000e08abcdef"),
        (ServingError.unknownDevice, .unknownDevice, nil),
        (ServingError.deviceDisabled, .deviceDisabled, nil),
        (ServingError.serialMismatch(stored: "S1", presented: nil), .serialMismatch, "stored S1, certificate none"),
        (ServingError.modelMismatch(stored: "CP-8841", presented: "CP-8851"), .modelMismatch,
         "stored CP-8841, certificate CP-8851"),
        (ServingError.database(busy), .databaseBusy, "SQLite error 5: database is locked"),
        (ServingError.database(broken), .serverError, "database unavailable: SQLite error 11: database disk image is malformed"),
        (ServingError.render(.database(busy)), .databaseBusy, "SQLite error 5: database is locked"),
        (ServingError.render(.encoding(.noKey)), .noEncryptionConfigured, "device has encryption none"),
        (ServingError.render(.unknownPartition("lines")), .unknownPartition, "no settings in partition lines for this device"),
        (ServingError.configurationChangedDuringRead, .databaseBusy,
         "the configuration changed while it was read without shared memory"),
        (ServingError.unexpected("what"), .serverError, "what"),
        (ServingError.identity(.generic), .genericCertificate, "the pre-2.0 ciscogeneric certificate identifies no phone"),
        (ServingError.authentication(.bootstrapServesOnlyCfg), .bootstrapServesOnlyCfg, "no certificate, no account"),
        (ServingError.report(.empty), .emptyReport, nil),
    ]

    @Test func everyRoomErrorHasItsRefusalAndDetail() {
        for (error, kind, detail) in Self.cases {
            let refusal = error.refusal
            #expect(refusal.kind == kind, "\(error)")
            #expect(refusal.detail == detail, "\(error)")
        }
    }

    /// The challenge and the wait travel to the headers (`WWW-Authenticate`, `Retry-After`).
    @Test func challengesAndWaitsReachTheResponse() {
        let stale = CGIResponse(refusal: AuthenticationError.staleNonce(challenge: "Digest realm=\"r\"").refusal)
        #expect(stale.extraHeaders.contains { $0.0 == "WWW-Authenticate" && $0.1 == "Digest realm=\"r\"" })
        let wait = CGIResponse(refusal: AuthenticationError.backingOff(user: "a", address: "b", seconds: 42).refusal)
        #expect(wait.extraHeaders.contains { $0.0 == "Retry-After" && $0.1 == "42" })
    }

    /// Every refusal of the catalogue is some room's error: none is left that nothing throws.
    @Test func everyRefusalIsSomeRoomsError() {
        #expect(Set(Self.cases.map { $0.1 }) == Set(RefusalKind.allCases))
    }
}
