public import Provisioning

/// A claim (a phone that called with a valid certificate but has no device row), with the device its serial
/// names, if any (`provctl claims`).
public struct ClaimEntry: Sendable, Equatable {
    public var claim: Claim
    /// The device whose serial is the claim's (the certificate's, else the one its User-Agent carries): a phone
    /// whose MAC changed with a repaired board.
    public var deviceWithSerial: MACAddress?
    /// What an expected entry or adoption rule makes of it (`Onboarding.note`): the reason it was not served
    /// (`expected serial X, certificate says Y`), `onboarding` when it was and waits for promotion, or nil.
    public var expected: String?

    /// Every claim, with the device its serial names.
    public static func all(in store: ConfigurationEditor) throws(SQLiteError) -> [ClaimEntry] {
        var entries: [ClaimEntry] = []
        for claim in try store.journal.claims() {
            let serial = claim.serial ?? claim.userAgent.flatMap { UserAgent($0).serial }
            entries.append(ClaimEntry(claim: claim, deviceWithSerial: try serial.flatMap { serial throws(SQLiteError) in
                try store.device(serial: serial)?.mac
            }, expected: try Onboarding.note(for: claim, in: store)))
        }
        return entries
    }
}
