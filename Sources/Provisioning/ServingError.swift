/// Why the service did not serve a request, in its own terms: the rooms' errors it passes on, and what the
/// service itself checks (the device, the MAC the file names, the configuration read). The service answers each
/// with the refusal `Refusing` (Response/Refusal+Rooms.swift) names.
public enum ServingError: Error, Sendable {
    /// The certificate identifies no phone (and nothing else settled the caller).
    case identity(IdentityError)
    /// Credentials or the bootstrap rule did not let the caller in.
    case authentication(AuthenticationError)
    /// The phone's report could not be taken.
    case report(ReportError)
    /// The file name names another MAC than the caller's; `proof` is how the caller's was settled (`certificate`,
    /// `account`).
    case macMismatch(named: MACAddress, caller: MACAddress, proof: String)
    /// No device has the caller's MAC.
    case unknownDevice
    case deviceDisabled
    /// No device has the caller's MAC, and the expected entry with its MAC or serial names another serial or
    /// product (`ExpectedMatch.mismatch`): refused as an unknown device, the reason in the log line.
    case expectedMismatch(String)
    /// The stored serial is not the certificate's (nil: the certificate has none).
    case serialMismatch(stored: String, presented: String?)
    /// The stored product is not the certificate's (nil: the certificate has none).
    case modelMismatch(stored: String, presented: String?)
    /// The profile could not be built.
    case render(RenderError)
    /// The configuration database could not be read (a lock held past the wait, or worse).
    case database(SQLiteError)
    /// Read as immutable (no `-shm` could be made) and the file changed meanwhile: not safe to answer.
    case configurationChangedDuringRead
    /// Anything else a read threw.
    case unexpected(String)
}
