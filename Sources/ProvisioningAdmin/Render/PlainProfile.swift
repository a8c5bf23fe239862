public import Provisioning

extension ProfileService {
    /// The XML inside a profile `body` served to `device` in `form`: a `.cfg` decrypted with the device's key
    /// (`openssl enc` AES-256-CBC or aes128gcm), then a gzip stream inflated. What `provctl render --plain` prints.
    public static func plainProfile(_ body: [UInt8], form: ProfileForm, device: Device) throws -> [UInt8] {
        var body = body
        if form == .cfg, case .aes256cbc(let key, let digest) = device.encryption {
            body = try OpenSSLEnc.decrypt(body, passphrase: key, digest: digest)
        }
        if form == .cfg, case .aes128gcm(let key) = device.encryption, let ikm = key.ikmBytes {
            body = try AES128GCM.decrypt(body, ikm: ikm)
        }
        if Gzip.isGzip(body) { body = try Gzip.decompress(body) }
        return body
    }
}
