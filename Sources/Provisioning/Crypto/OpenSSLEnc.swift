import CCrypto

/// The digest `openssl enc -md` uses to turn the passphrase into key and IV (EVP_BytesToKey, one iteration).
public enum KeyDerivationDigest: String, Sendable, CaseIterable {
    /// openssl before 1.1.0, and the phones' 0.9.7c-era firmware.
    case md5
    /// openssl 1.1.0 and later; the 11.3+ guides.
    case sha256
}

/// Files byte-compatible with `openssl enc -aes-256-cbc -k PASSPHRASE -md md5|sha256` (no `-pbkdf2`):
/// `Salted__`, 8 salt bytes, then AES-256-CBC with PKCS#7 padding; key and IV from EVP_BytesToKey.
///
/// This uses libcrypto's AES, MD5 and SHA-256 block functions rather than EVP: in OpenSSL 3 the first EVP or
/// RAND call builds the provider tables, measured at about 1.5 ms per process here, which would triple the cost
/// of a CGI request. The salt comes from the kernel's CSPRNG (`getrandom(2)`), the source OpenSSL's own DRBG
/// seeds from.
public enum OpenSSLEnc {
    static let magic: [UInt8] = Array("Salted__".utf8)

    /// EVP_BytesToKey(aes-256-cbc, digest, salt, passphrase, count 1): D_i = H(D_{i-1} || pass || salt).
    static func deriveKeyAndIV(passphrase: [UInt8], salt: [UInt8], digest: KeyDerivationDigest) -> (key: [UInt8], iv: [UInt8]) {
        var material: [UInt8] = []
        var previous: [UInt8] = []
        while material.count < 48 {
            var block = previous
            block += passphrase
            block += salt
            previous = hash(block, digest)
            material += previous
        }
        return (Array(material[0..<32]), Array(material[32..<48]))
    }

    static func hash(_ bytes: [UInt8], _ digest: KeyDerivationDigest) -> [UInt8] {
        switch digest {
        case .md5:
            var out = [UInt8](repeating: 0, count: Int(MD5_DIGEST_LENGTH))
            var context = MD5_CTX()
            MD5_Init(&context)
            bytes.withUnsafeBytes { _ = MD5_Update(&context, $0.baseAddress, $0.count) }
            MD5_Final(&out, &context)
            return out
        case .sha256:
            return Digest.sha256(bytes)
        }
    }

    /// `count` bytes from the kernel's CSPRNG (`getrandom(2)`).
    public static func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let result = bytes.withUnsafeMutableBytes { KernelRandom.fill($0) }
        guard result.ok else { throw CryptoError("getrandom", "no random bytes (errno \(result.errno))") }
        return bytes
    }

    /// Encrypts `plaintext` as `openssl enc -e -aes-256-cbc -k passphrase -md digest` would.
    /// `salt` is for tests that compare bytes with openssl's `-S`; leave it `nil` otherwise.
    public static func encrypt(_ plaintext: [UInt8], passphrase: String, digest: KeyDerivationDigest,
                               salt fixedSalt: [UInt8]? = nil) throws(CryptoError) -> [UInt8] {
        let salt: [UInt8]
        if let given = fixedSalt { salt = given } else { salt = try randomBytes(8) }
        guard salt.count == 8 else { throw CryptoError("encrypt", "the salt must be 8 bytes") }
        let (key, iv) = deriveKeyAndIV(passphrase: Array(passphrase.utf8), salt: salt, digest: digest)
        var padded = plaintext
        let padding = 16 - plaintext.count % 16
        padded += [UInt8](repeating: UInt8(padding), count: padding)
        let body = try cbc(padded, key: key, iv: iv, encrypt: true)
        return magic + salt + body
    }

    /// Decrypts a `Salted__` file made by `openssl enc -aes-256-cbc -k passphrase -md digest`.
    public static func decrypt(_ data: [UInt8], passphrase: String, digest: KeyDerivationDigest) throws(CryptoError) -> [UInt8] {
        guard data.count >= 32, Array(data[0..<8]) == magic, (data.count - 16) % 16 == 0 else {
            throw CryptoError("decrypt", "not an openssl enc file (no Salted__ header or a truncated body)")
        }
        let salt = Array(data[8..<16])
        let (key, iv) = deriveKeyAndIV(passphrase: Array(passphrase.utf8), salt: salt, digest: digest)
        var plain = try cbc(Array(data[16...]), key: key, iv: iv, encrypt: false)
        guard let last = plain.last, last >= 1, last <= 16, plain.count >= Int(last),
              plain.suffix(Int(last)).allSatisfy({ $0 == last }) else {
            throw CryptoError("decrypt", "bad padding: wrong key or wrong digest")
        }
        plain.removeLast(Int(last))
        return plain
    }

    /// AES-256 in CBC mode over whole blocks (`AES_set_*_key`, `AES_cbc_encrypt`).
    static func cbc(_ input: [UInt8], key: [UInt8], iv: [UInt8], encrypt: Bool) throws(CryptoError) -> [UInt8] {
        var schedule = AES_KEY()
        let rc = encrypt ? AES_set_encrypt_key(key, 256, &schedule) : AES_set_decrypt_key(key, 256, &schedule)
        guard rc == 0 else { throw CryptoError(encrypt ? "AES_set_encrypt_key" : "AES_set_decrypt_key", "returned \(rc)") }
        var vector = iv
        var output = [UInt8](repeating: 0, count: input.count)
        AES_cbc_encrypt(input, &output, input.count, &schedule, &vector, encrypt ? AES_ENCRYPT : AES_DECRYPT)
        return output
    }
}
