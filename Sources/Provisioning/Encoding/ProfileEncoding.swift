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

/// Turns the finished XML into the bytes of the requested form: plain, gzip, or gzip? + AES-256-CBC (openssl enc)
/// or gzip? + RFC 8188 aes128gcm, whichever the device is set to.
public enum ProfileEncoding {
    /// The body for `form`: the steps of its `ProfileRecipe` (compression before encryption; a `.cfg` for a
    /// device without encryption is `EncodingError.noKey`). A `compressor` is reused by callers that encode many
    /// profiles; the bytes are the same without one.
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
        let recipe = try ProfileRecipe(form: form, device: device)
        let plain = recipe.gzip ? try gzip(xml) : xml
        switch recipe.encryption {
        case .none:
            return plain
        case .aes256cbc(let key, let digest):
            do {
                return try OpenSSLEnc.encrypt(plain, passphrase: key, digest: digest)
            } catch {
                throw .encryption("\(error)")
            }
        case .aes128gcm(let key):
            guard let ikm = key.ikmBytes else { throw .encryption("the stored IKM is not base64url") }
            do {
                return try AES128GCM.encrypt(plain, ikm: ikm, keyID: Array(key.keyID.utf8), recordSize: key.recordSize)
            } catch {
                throw .encryption("\(error)")
            }
        }
    }

    /// The `Content-Encoding` the answer must carry: `aes128gcm` for a `.cfg` of an RFC 8188 device (the phone
    /// needs the header to decrypt, FACTS.md §5); nil otherwise (gzip and openssl enc are sniffed from the body).
    public static func contentEncoding(form: ProfileForm, device: Device) -> String? {
        if form == .cfg, case .aes128gcm = device.encryption { return "aes128gcm" }
        return nil
    }
}
