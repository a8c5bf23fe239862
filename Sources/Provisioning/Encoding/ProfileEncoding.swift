/// Turns the finished XML into the bytes of the requested form: plain, gzip, or gzip? + AES-256-CBC.
public enum ProfileEncoding {
    /// The body for `form`. Compression always comes before encryption; a `.cfg` for a device without
    /// encryption is a 404 (there is no such file for it), never a silent plain profile. A `compressor` is reused
    /// by callers that encode many profiles; the bytes are the same without one.
    public static func encode(_ xml: [UInt8], form: ProfileForm, device: Device,
                              compressor: GzipCompressor? = nil) throws(Refusal) -> [UInt8] {
        func gzip(_ bytes: [UInt8]) throws(ZlibError) -> [UInt8] {
            if let compressor { return try compressor.compress(bytes) }
            return try Gzip.compress(bytes)
        }
        do {
            switch form {
            case .xml:
                return xml
            case .gz:
                return try gzip(xml)
            case .cfg:
                guard case .aes256cbc(let key, let digest) = device.encryption else {
                    throw Refusal(404, "no encryption configured", detail: "device \(device.mac) has encryption none")
                }
                let plain = device.gzip ? try gzip(xml) : xml
                return try OpenSSLEnc.encrypt(plain, passphrase: key, digest: digest)
            }
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw .serverError("encoding \(form.rawValue) failed: \(error)")
        }
    }
}
