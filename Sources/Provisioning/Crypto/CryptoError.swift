import CCrypto

/// A failed libcrypto call or a malformed input to one: the function and what went wrong, never key material.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// The libcrypto function (or the step of ours) that failed.
    public var function: String
    /// What went wrong, with OpenSSL's queued error reasons appended when it left any.
    public var message: String
    public var description: String { "\(function): \(message)" }

    /// Builds the error at once and drains OpenSSL's error queue (`ERR_get_error`) into it.
    init(_ function: String, _ message: String) {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.function = function
        self.message = reasons.isEmpty ? message : message + " (" + reasons.joined(separator: "; ") + ")"
    }
}
