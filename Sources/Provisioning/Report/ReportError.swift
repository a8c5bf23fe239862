/// Why a phone's report was not stored. The service answers each with the refusal `Refusing`
/// (Response/Refusal+Rooms.swift) names.
public enum ReportError: Error, Sendable, Equatable {
    /// The body is longer than `ReportRequest.maximumBytes`.
    case tooLarge(limit: Int)
    /// A POST without a body.
    case empty
    /// `openssl enc` output, and the device has no key.
    case encryptedWithoutKey
    /// `openssl enc` output the device's key does not open.
    case notTheDevicesKey
    /// A gzip stream that does not inflate: what the inflater said.
    case badGzip(String)
    /// What is left after decryption and gzip does not start as XML.
    case notXML
}
