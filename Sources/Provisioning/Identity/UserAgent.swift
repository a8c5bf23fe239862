/// What a phone's User-Agent says, parsed loosely. The real shapes (FACTS §2):
///
///     Cisco-CP-8841-3PCC/11.0 (00562b043615)          MPP: product, firmware, MAC
///     Cisco/SPA112-1.4.1(SR5) (88755A000001)          SPA/ATA: the firmware has brackets of its own
///     Linksys/SPA-942-6.1.5(a) (88755A000001)
///     Cisco/SPA504G-7.4.9c (88755A000001)(CBT141900G7) MAC then serial
///     Cisco/SPA525G-7.4.7 (CBT141900G7)               serial only
///     Cisco/ATA191-MPP-11-1-0-MSR4 (FCH2443D9R4)      serial only
///
/// The identifier is the last bracketed group(s) after a space, never the first brackets: a 12-hex-digit group
/// is the MAC, any other the serial. The phone lets an admin change its User-Agent, so this is a claim: for the
/// log, for cross-checks and for finding the device a caller that proved nothing names, never for identity.
public struct UserAgent: Sendable, Equatable {
    /// `CP-8841-3PCC`, `SPA112`, `SPA-942`, `ATA191-MPP`: for a `Cisco-`, `Cisco/` or `Linksys/` agent.
    public var product: String?
    /// `11.0`, `1.4.1(SR5)`, `11-1-0-MSR4`.
    public var firmware: String?
    /// The MAC among the identifier groups, when one is 12 hex digits.
    public var mac: MACAddress?
    /// The serial among the identifier groups: the first group that is not a MAC.
    public var serial: String?

    public init(_ text: String) {
        // Byte offsets, not Characters: this runs on every request and the text is ASCII in practice.
        let bytes = Array(text.utf8)
        let space = UInt8(ascii: " "), open = UInt8(ascii: "(")
        // The identifier groups: from the last " (" on, `(a)` or `(a)(b)` to the end (white space around allowed).
        var headEnd = bytes.count
        var index = bytes.count - 1
        while index > 0 {
            if bytes[index] == open && bytes[index - 1] == space {
                if Self.eachGroup(bytes[index...], { _ in }) {
                    headEnd = index
                    _ = Self.eachGroup(bytes[index...]) { group in
                        if group.count == 12, mac == nil, let found = MACAddress(String(decoding: group, as: UTF8.self)) {
                            mac = found
                        } else if serial == nil, !group.isEmpty {
                            serial = String(decoding: group, as: UTF8.self)
                        }
                    }
                }
                break
            }
            index -= 1
        }
        // Product and firmware: `Cisco-PRODUCT/FIRMWARE` (MPP) or `Cisco/PRODUCT-FIRMWARE` (SPA, ATA, Linksys).
        var head = bytes[..<headEnd]
        while let last = head.last, last == space { head.removeLast() }
        if let firstSpace = head.firstIndex(of: space) { head = head[..<firstSpace] }
        if head.starts(with: "Cisco-".utf8) {
            let rest = head.dropFirst(6)
            if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
                product = slash > rest.startIndex ? String(decoding: rest[..<slash], as: UTF8.self) : nil
                firmware = slash + 1 < rest.endIndex ? String(decoding: rest[(slash + 1)...], as: UTF8.self) : nil
            } else if !rest.isEmpty {
                product = String(decoding: rest, as: UTF8.self)
            }
        } else if head.starts(with: "Cisco/".utf8) || head.starts(with: "Linksys/".utf8) {
            let rest = head[(head.firstIndex(of: UInt8(ascii: "/"))! + 1)...]
            // The firmware starts at the first `-digit` after a product part that holds a digit: `SPA-942-6.1.5`
            // is SPA-942 + 6.1.5, `ATA191-MPP-11-1-0` is ATA191-MPP + 11-1-0.
            var split: Int? = nil
            var sawDigit = false
            var position = rest.startIndex
            while position < rest.endIndex {
                let byte = rest[position]
                if byte == UInt8(ascii: "-"), sawDigit, position + 1 < rest.endIndex, Self.isDigit(rest[position + 1]) {
                    split = position
                    break
                }
                if Self.isDigit(byte) { sawDigit = true }
                position += 1
            }
            if let split {
                product = split > rest.startIndex ? String(decoding: rest[..<split], as: UTF8.self) : nil
                firmware = String(decoding: rest[(split + 1)...], as: UTF8.self)
            } else if !rest.isEmpty {
                product = String(decoding: rest, as: UTF8.self)
            }
        } else if let slash = head.firstIndex(of: UInt8(ascii: "/")), slash + 1 < head.endIndex {
            firmware = String(decoding: head[(slash + 1)...], as: UTF8.self)
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Calls `body` with each group's contents of `(a)(b)` (white space allowed around and between) running to
    /// the end of the text; false when anything else follows (then these brackets are not the identifier). No
    /// array of slices: a generic array type costs the CGI its first-use metadata.
    static func eachGroup(_ text: ArraySlice<UInt8>, _ body: (ArraySlice<UInt8>) -> Void) -> Bool {
        var any = false
        var position = text.startIndex
        while position < text.endIndex {
            let byte = text[position]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { position += 1; continue }
            guard byte == UInt8(ascii: "("), let end = text[position...].firstIndex(of: UInt8(ascii: ")")) else { return false }
            let inner = text[(position + 1)..<end]
            if inner.contains(UInt8(ascii: "(")) || inner.contains(UInt8(ascii: " ")) { return false }
            body(inner)
            any = true
            position = end + 1
        }
        return any
    }
}
