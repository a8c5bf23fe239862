import CCrypto

/// RFC 8188 "Encrypted Content-Encoding for HTTP", the `aes128gcm` coding that MPP firmware 11.2(3)+ decrypts
/// with the key material in its `IKM_HTTP_Encrypt_Content` (FACTS.md §5).
///
/// The body is a header, `salt (16) | rs (uint32, big-endian) | idlen (1) | keyid (idlen)`, then records of `rs`
/// octets (the last may be shorter): each the AEAD_AES_128_GCM encryption of up to `rs - 17` octets of content, a
/// delimiter (0x01, or 0x02 in the last record) and no padding, followed by its 16-octet tag. Key and nonce come
/// from HKDF-SHA-256 (RFC 5869) with the salt (§2.2, §2.3):
///
///     PRK   = HMAC-SHA-256(salt, IKM)
///     CEK   = first 16 octets of HMAC-SHA-256(PRK, "Content-Encoding: aes128gcm" || 0x00 || 0x01)
///     NONCE = first 12 octets of HMAC-SHA-256(PRK, "Content-Encoding: nonce" || 0x00 || 0x01) XOR SEQ
///
/// Everything runs on libcrypto's block functions (`SHA256_*`, `AES_set_encrypt_key`, `CRYPTO_gcm128_*`, through
/// the two helpers in `CCrypto/shim.h`), never EVP, and the salt comes from `getrandom(2)`: OpenSSL 3's EVP
/// builds its provider tables on first use, which costs a CGI process more than the rest of its request (see
/// `OpenSSLEnc`).
public enum AES128GCM {
    /// The record size when none is configured: what PyPI's `http_ece` and the RFC's first example use.
    public static let defaultRecordSize = 4096
    /// The smallest record size the RFC allows: 16 octets of tag, one of delimiter, one of content.
    public static let minimumRecordSize = 18
    /// The largest: the header's field is a uint32.
    public static let maximumRecordSize = Int(UInt32.max)
    /// The length of the header before the key id.
    static let fixedHeaderLength = 21

    /// Encrypts `plaintext` under `ikm`, with `keyID` (at most 255 octets) in the header and records of
    /// `recordSize` octets. `salt` is for tests (the RFC's examples); leave it `nil` otherwise.
    public static func encrypt(_ plaintext: [UInt8], ikm: [UInt8], keyID: [UInt8] = [], recordSize: Int = defaultRecordSize,
                               salt fixedSalt: [UInt8]? = nil) throws(CryptoError) -> [UInt8] {
        guard recordSize >= minimumRecordSize && recordSize <= maximumRecordSize else {
            throw CryptoError("aes128gcm", "record size \(recordSize) is outside 18...\(maximumRecordSize)")
        }
        guard keyID.count <= 255 else { throw CryptoError("aes128gcm", "the key id is longer than 255 octets") }
        guard !ikm.isEmpty else { throw CryptoError("aes128gcm", "no input keying material") }
        let salt: [UInt8]
        if let fixedSalt { salt = fixedSalt } else { salt = try OpenSSLEnc.randomBytes(16) }
        guard salt.count == 16 else { throw CryptoError("aes128gcm", "the salt must be 16 octets") }
        let (key, nonce) = derive(ikm: ikm, salt: salt)

        let chunk = recordSize - 17
        let records = max(1, (plaintext.count + chunk - 1) / chunk)
        var out = [UInt8]()
        out.reserveCapacity(fixedHeaderLength + keyID.count + plaintext.count + records * 17)
        out += salt
        out.append(UInt8(truncatingIfNeeded: recordSize >> 24))
        out.append(UInt8(truncatingIfNeeded: recordSize >> 16))
        out.append(UInt8(truncatingIfNeeded: recordSize >> 8))
        out.append(UInt8(truncatingIfNeeded: recordSize))
        out.append(UInt8(keyID.count))
        out += keyID
        var record = [UInt8](repeating: 0, count: min(chunk, plaintext.count) + 1)
        var sealed = [UInt8](repeating: 0, count: record.count + 16)
        for sequence in 0..<records {
            let start = sequence * chunk
            let end = min(start + chunk, plaintext.count)
            let length = end - start
            record.withUnsafeMutableBufferPointer { buffer in
                plaintext.withUnsafeBufferPointer { source in
                    if length > 0 { buffer.baseAddress!.update(from: source.baseAddress! + start, count: length) }
                }
                buffer[length] = sequence + 1 == records ? 0x02 : 0x01
            }
            let iv = recordNonce(nonce, sequence: sequence)
            let rc = sealed.withUnsafeMutableBufferPointer { output in
                ccrypto_aes128gcm_seal(key, iv, record, length + 1, output.baseAddress!, output.baseAddress! + length + 1)
            }
            guard rc == 0 else { throw CryptoError("CRYPTO_gcm128_encrypt", "failed") }
            out.append(contentsOf: sealed[0..<(length + 17)])
        }
        return out
    }

    /// The header of an `aes128gcm` body: salt, record size, key id, and where the records start.
    public struct Header: Sendable, Equatable {
        public var salt: [UInt8]
        public var recordSize: Int
        public var keyID: [UInt8]
        public var length: Int
    }

    /// Reads the header of `body`.
    public static func header(_ body: [UInt8]) throws(CryptoError) -> Header {
        guard body.count >= fixedHeaderLength else { throw CryptoError("aes128gcm", "shorter than its header") }
        let recordSize = Int(body[16]) << 24 | Int(body[17]) << 16 | Int(body[18]) << 8 | Int(body[19])
        let idLength = Int(body[20])
        guard body.count >= fixedHeaderLength + idLength else { throw CryptoError("aes128gcm", "the key id is cut off") }
        guard recordSize >= minimumRecordSize else { throw CryptoError("aes128gcm", "record size \(recordSize) below 18") }
        return Header(salt: Array(body[0..<16]), recordSize: recordSize,
                      keyID: Array(body[fixedHeaderLength..<(fixedHeaderLength + idLength)]),
                      length: fixedHeaderLength + idLength)
    }

    /// Decrypts an `aes128gcm` body under `ikm` (RFC 8188 §2), padding and all: the inverse of `encrypt`, and
    /// what `provctl render --plain` and the tests use. A wrong key, an altered or truncated body is an error.
    public static func decrypt(_ body: [UInt8], ikm: [UInt8]) throws(CryptoError) -> [UInt8] {
        let header = try header(body)
        let (key, nonce) = derive(ikm: ikm, salt: header.salt)
        var out: [UInt8] = []
        var offset = header.length
        var sequence = 0
        var sawLast = false
        while offset < body.count {
            guard !sawLast else { throw CryptoError("aes128gcm", "data after the last record") }
            let end = min(offset + header.recordSize, body.count)
            let length = end - offset - 16
            guard length >= 1 else { throw CryptoError("aes128gcm", "record \(sequence) is too short") }
            var plain = [UInt8](repeating: 0, count: length)
            let iv = recordNonce(nonce, sequence: sequence)
            let rc = body.withUnsafeBufferPointer { input in
                ccrypto_aes128gcm_open(key, iv, input.baseAddress! + offset, length, &plain, input.baseAddress! + offset + length)
            }
            guard rc == 0 else { throw CryptoError("aes128gcm", "record \(sequence) does not authenticate (wrong key?)") }
            // Padding: zeros after the delimiter, which is the last non-zero octet.
            guard let delimiter = plain.lastIndex(where: { $0 != 0 }) else {
                throw CryptoError("aes128gcm", "record \(sequence) has no delimiter")
            }
            switch plain[delimiter] {
            case 0x01:
                guard end - offset == header.recordSize else {
                    throw CryptoError("aes128gcm", "record \(sequence) is short but not the last (truncated?)")
                }
            case 0x02: sawLast = true
            default: throw CryptoError("aes128gcm", "record \(sequence) has a bad delimiter")
            }
            out += plain[0..<delimiter]
            offset = end
            sequence += 1
        }
        guard sawLast else { throw CryptoError("aes128gcm", "no last record (truncated)") }
        return out
    }

    /// The content-encryption key (16 octets) and the nonce base (12 octets) for `salt` (§2.2, §2.3).
    static func derive(ikm: [UInt8], salt: [UInt8]) -> (key: [UInt8], nonce: [UInt8]) {
        let prk = HMACSHA256.mac(key: salt, ikm)
        let key = HMACSHA256.mac(key: prk, Array("Content-Encoding: aes128gcm".utf8) + [0x00, 0x01])
        let nonce = HMACSHA256.mac(key: prk, Array("Content-Encoding: nonce".utf8) + [0x00, 0x01])
        return (Array(key[0..<16]), Array(nonce[0..<12]))
    }

    /// The nonce of record `sequence`: the base XOR the sequence number as a 96-bit big-endian integer.
    static func recordNonce(_ base: [UInt8], sequence: Int) -> [UInt8] {
        var nonce = base
        var rest = UInt64(sequence)
        var index = 11
        while rest > 0 && index >= 4 {
            nonce[index] ^= UInt8(truncatingIfNeeded: rest)
            rest >>= 8
            index -= 1
        }
        return nonce
    }
}

/// HMAC-SHA-256 (RFC 2104) on libcrypto's `SHA256_*` block functions: OpenSSL 3's `HMAC()` goes through EVP_MAC
/// and loads the providers.
public enum HMACSHA256 {
    public static func mac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var block = key.count > 64 ? Digest.sha256(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = SHA256_CTX()
        SHA256_Init(&inner)
        var pad = block.map { $0 ^ 0x36 }
        SHA256_Update(&inner, pad, 64)
        message.withUnsafeBytes { _ = SHA256_Update(&inner, $0.baseAddress, $0.count) }
        var innerDigest = [UInt8](repeating: 0, count: 32)
        SHA256_Final(&innerDigest, &inner)
        var outer = SHA256_CTX()
        SHA256_Init(&outer)
        pad = block.map { $0 ^ 0x5c }
        SHA256_Update(&outer, pad, 64)
        SHA256_Update(&outer, innerDigest, 32)
        var out = [UInt8](repeating: 0, count: 32)
        SHA256_Final(&out, &outer)
        return out
    }
}

/// base64url (RFC 4648 §5), the spelling RFC 8188's examples give keys and salts in: `-` and `_` for `+` and `/`,
/// padding optional.
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Unpadded base64url of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let a = Int(bytes[index])
            let b = index + 1 < bytes.count ? Int(bytes[index + 1]) : 0
            let c = index + 2 < bytes.count ? Int(bytes[index + 2]) : 0
            out.append(alphabet[a >> 2])
            out.append(alphabet[(a & 3) << 4 | b >> 4])
            if index + 1 < bytes.count { out.append(alphabet[(b & 15) << 2 | c >> 6]) }
            if index + 2 < bytes.count { out.append(alphabet[c & 63]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes `text` spells in base64url (with or without `=` padding); nil for any other character or a
    /// length no encoding has.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0 else { return nil }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        guard values.count % 4 != 1, padding <= 2, padding == 0 || (values.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 1 < values.count {
            let a = values[index], b = values[index + 1]
            out.append(a << 2 | b >> 4)
            if index + 2 < values.count { out.append(b << 4 | values[index + 2] >> 2) }
            if index + 3 < values.count { out.append(values[index + 2] << 6 | values[index + 3]) }
            index += 4
        }
        return out
    }
}
