/// What a phone's User-Agent says, parsed loosely: `Cisco-CP-8841-3PCC/11.0 (00562b043615)`.
///
/// The phone lets an admin change its User-Agent, so this is for the log and for cross-checks only, never
/// for identity.
public struct UserAgent: Sendable, Equatable {
    /// `CP-8841-3PCC`, when the text starts with `Cisco-`.
    public var product: String?
    /// `11.0`, the text after the `/`.
    public var firmware: String?
    /// The value in brackets: the guides call it the serial, on real phones it is the MAC.
    public var bracketed: String?

    public init(_ text: String) {
        // Byte offsets, not Characters: this runs on every request and the text is ASCII in practice.
        var bytes = Array(text.utf8)
        let isCisco = bytes.starts(with: "Cisco-".utf8)
        if isCisco { bytes.removeFirst(6) }
        if let open = bytes.firstIndex(of: UInt8(ascii: "(")),
           let close = bytes[open...].firstIndex(of: UInt8(ascii: ")")) {
            bracketed = close > open + 1 ? String(decoding: bytes[(open + 1)..<close], as: UTF8.self) : nil
            bytes.removeSubrange(open...)
        }
        let head = bytes.prefix { $0 != UInt8(ascii: " ") }
        if let slash = head.firstIndex(of: UInt8(ascii: "/")) {
            product = slash > head.startIndex ? String(decoding: head[..<slash], as: UTF8.self) : nil
            firmware = slash + 1 < head.endIndex ? String(decoding: head[(slash + 1)...], as: UTF8.self) : nil
        } else if !head.isEmpty && isCisco {
            product = String(decoding: head, as: UTF8.self)
        }
        if !isCisco { product = nil }
    }

    /// The bracketed value as a MAC, when it is one.
    public var mac: MACAddress? { bracketed.flatMap { MACAddress($0) } }
}
