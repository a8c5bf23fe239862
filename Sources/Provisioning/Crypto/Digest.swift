import CCrypto

/// SHA-256 with libcrypto's block function (no EVP provider start-up; see OpenSSLEnc).
public enum Digest {
    /// The SHA-256 of `bytes`, 32 bytes.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var context = SHA256_CTX()
        SHA256_Init(&context)
        bytes.withUnsafeBytes { _ = SHA256_Update(&context, $0.baseAddress, $0.count) }
        SHA256_Final(&out, &context)
        return out
    }

    /// The SHA-256 of `bytes` as 64 lower-case hex digits.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { hex(sha256(bytes)) }

    /// Lower-case hex (`Hex.encode`).
    public static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }
}
