/// A phone's MAC address, held as 12 lower-case hex digits (the phone's `$MA`).
public struct MACAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 12 lower-case hex digits, as stored and as `$MA` expands.
    public let hex: String

    /// Accepts every spelling an admin or a phone uses: `000e08abcdef`, `000E08ABCDEF` (`$MAU`),
    /// `00:0e:08:ab:cd:ef` (`$MAC`), `00-0E-08-AB-CD-EF`, `000e.08ab.cdef`. Separators must be consistent and
    /// in the usual places; anything else is `nil`.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        let digits: [UInt8]
        switch bytes.count {
        case 12:
            digits = bytes
        case 17:
            let separator = bytes[2]
            guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { return nil }
            for index in stride(from: 2, to: 17, by: 3) where bytes[index] != separator { return nil }
            digits = bytes.enumerated().filter { ($0.offset + 1) % 3 != 0 }.map(\.element)
        case 14:
            guard bytes[4] == UInt8(ascii: "."), bytes[9] == UInt8(ascii: ".") else { return nil }
            digits = bytes.enumerated().filter { $0.offset != 4 && $0.offset != 9 }.map(\.element)
        default:
            return nil
        }
        var lower: [UInt8] = []
        lower.reserveCapacity(12)
        for byte in digits {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): lower.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): lower.append(byte + 32)
            default: return nil
            }
        }
        hex = String(decoding: lower, as: UTF8.self)
    }

    /// Upper-case hex digits, as `$MAU` expands.
    public var upper: String { String(decoding: hex.utf8.map { $0 >= UInt8(ascii: "a") ? $0 - 32 : $0 }, as: UTF8.self) }

    /// Colon-separated lower-case pairs, as `$MAC` expands.
    public var colon: String {
        var out: [UInt8] = []
        for (index, byte) in hex.utf8.enumerated() {
            if index > 0 && index % 2 == 0 { out.append(UInt8(ascii: ":")) }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.hex < rhs.hex }

    /// The MAC a requested file name spells, if it does: the whole name (`$MA`, `$MAU`, `$MAC`), or a name that
    /// ends with the MAC after a letters-only prefix (`spa$MA`, `SEP$MAU`) or a `_`, `-` or `.` (`$PN_$MA`).
    public static func named(inFileName stem: String) -> MACAddress? {
        if let mac = MACAddress(stem) { return mac }
        let bytes = Array(stem.utf8)
        for length in [17, 12] where bytes.count > length {
            let prefix = bytes[..<(bytes.count - length)]
            guard let mac = MACAddress(String(decoding: bytes[(bytes.count - length)...], as: UTF8.self)) else { continue }
            let last = prefix.last!
            let isLetter: (UInt8) -> Bool = { ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }
            if prefix.allSatisfy(isLetter) || last == UInt8(ascii: "_") || last == UInt8(ascii: "-") || last == UInt8(ascii: ".") {
                return mac
            }
        }
        return nil
    }
}
