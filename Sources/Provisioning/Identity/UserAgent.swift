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
        var rest = Substring(text)
        if rest.hasPrefix("Cisco-") { rest = rest.dropFirst(6) }
        if let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") {
            let inside = rest[rest.index(after: open)..<close]
            bracketed = inside.isEmpty ? nil : String(inside)
            rest = rest[..<open]
        }
        let head = rest.split(separator: " ", maxSplits: 1).first ?? ""
        if let slash = head.firstIndex(of: "/") {
            product = head[..<slash].isEmpty ? nil : String(head[..<slash])
            let version = head[head.index(after: slash)...]
            firmware = version.isEmpty ? nil : String(version)
        } else if !head.isEmpty {
            product = String(head)
        }
        if !text.hasPrefix("Cisco-") && product != nil && firmware == nil { product = nil }
    }

    /// The bracketed value as a MAC, when it is one.
    public var mac: MACAddress? { bracketed.flatMap { MACAddress($0) } }
}
