extension Digest {
    /// The MD5 of `bytes` as 32 lower-case hex digits (SIP and HTTP digest authentication, RFC 2617/7616).
    public static func md5Hex(_ bytes: [UInt8]) -> String { hex(OpenSSLEnc.hash(bytes, .md5)) }
}
