/// Why a finished profile could not be encoded: an error of the encodings' own domain. The service maps it to a
/// status (`noKey` is a 404: there is no such file for this device), provctl to an exit code.
public enum EncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `.cfg` asked of a device that has no encryption key.
    case noKey
    /// zlib failed.
    case compression(String)
    /// The cipher failed.
    case encryption(String)

    public var description: String {
        switch self {
        case .noKey: "no encryption configured"
        case .compression(let message): "gzip failed: \(message)"
        case .encryption(let message): "encryption failed: \(message)"
        }
    }
}

extension ProfileForm {
    /// The Content-Type the form is answered with. The phone sniffs the body (gzip, `Salted__`), so the binary
    /// forms are plain octets and never carry a Content-Encoding.
    public var contentType: String {
        switch self {
        case .xml: "text/xml; charset=utf-8"
        case .gz, .cfg: "application/octet-stream"
        }
    }
}

/// Turns the finished XML into the bytes of the requested form: plain, gzip, or gzip? + AES-256-CBC.
public enum ProfileEncoding {
    /// The body for `form`. Compression always comes before encryption; a `.cfg` for a device without
    /// encryption is `EncodingError.noKey` (there is no such file for it), never a silent plain profile. A
    /// `compressor` is reused by callers that encode many profiles; the bytes are the same without one.
    public static func encode(_ xml: [UInt8], form: ProfileForm, device: Device,
                              compressor: GzipCompressor? = nil) throws(EncodingError) -> [UInt8] {
        func gzip(_ bytes: [UInt8]) throws(EncodingError) -> [UInt8] {
            do {
                if let compressor { return try compressor.compress(bytes) }
                return try Gzip.compress(bytes)
            } catch {
                throw .compression("\(error)")
            }
        }
        switch form {
        case .xml:
            return xml
        case .gz:
            return try gzip(xml)
        case .cfg:
            guard case .aes256cbc(let key, let digest) = device.encryption else { throw .noKey }
            let plain = device.gzip ? try gzip(xml) : xml
            do {
                return try OpenSSLEnc.encrypt(plain, passphrase: key, digest: digest)
            } catch {
                throw .encryption("\(error)")
            }
        }
    }
}
