/// Hexadecimal digits, the one copy: the core (digests, nonces, the log line's `\xHH`, certificate subjects'
/// `\HH`, a URI's `%HH`) and the admin side (`U+HHHH`, `\u{H}`, JSON's `\u00HH`) spell and read them here.
public enum Hex {
    /// The sixteen lower-case digits, for a loop that indexes them (`utf8Start[n]`).
    @inlinable
    public static var lowercaseDigits: StaticString { "0123456789abcdef" }

    /// The digit of `nibble` (0...15; higher bits are ignored).
    @inlinable
    public static func digit(_ nibble: UInt8, uppercase: Bool = false) -> UInt8 {
        let value = nibble & 15
        return value < 10 ? UInt8(ascii: "0") + value : (uppercase ? UInt8(ascii: "A") : UInt8(ascii: "a")) + value - 10
    }

    /// The value of one hex digit of either case; nil for any other byte.
    @inlinable
    public static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Appends `byte` as two digits.
    @inlinable
    public static func append(_ byte: UInt8, uppercase: Bool = false, to out: inout [UInt8]) {
        out.append(digit(byte >> 4, uppercase: uppercase))
        out.append(digit(byte, uppercase: uppercase))
    }

    /// `bytes` as lower-case hex, two digits a byte.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digit(byte >> 4))
            out.append(digit(byte))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes `digits` spell, two digits a byte; nil unless every byte is a hex digit and their count is even.
    public static func decode(_ digits: some Collection<UInt8>) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var high: UInt8? = nil
        for byte in digits {
            guard let value = value(of: byte) else { return nil }
            if let first = high {
                out.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return out
    }

    /// `value` in hex, without a sign, padded with zeros to at least `width` digits.
    public static func text(_ value: UInt64, width: Int = 1, uppercase: Bool = false) -> String {
        var out: [UInt8] = []
        var rest = value
        repeat {
            out.append(digit(UInt8(truncatingIfNeeded: rest), uppercase: uppercase))
            rest >>= 4
        } while rest > 0
        while out.count < width { out.append(UInt8(ascii: "0")) }
        return String(decoding: out.reversed(), as: UTF8.self)
    }
}
