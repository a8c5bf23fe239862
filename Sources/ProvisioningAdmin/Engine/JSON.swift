import Provisioning

/// A JSON value: every admin result becomes one, and one writer prints it, keys in the order the result gives
/// them. Written by hand: JSONSerialization takes seconds for a list of 100,000 devices.
public enum JSON: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    public static func text(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
    public static func number(_ value: Int?) -> JSON { value.map(JSON.int) ?? .null }

    public func write(to out: inout [UInt8], indent: Int) {
        switch self {
        case .string(let text): JSON.appendString(text, to: &out)
        case .int(let number): out += String(number).utf8
        case .bool(let flag): out += (flag ? "true" : "false").utf8
        case .null: out += "null".utf8
        case .array(let array):
            if array.isEmpty { out += "[]".utf8; return }
            out += "[\n".utf8
            for (index, element) in array.enumerated() {
                out += repeatElement(0x20, count: indent + 2)
                element.write(to: &out, indent: indent + 2)
                out += (index + 1 < array.count ? ",\n" : "\n").utf8
            }
            out += repeatElement(0x20, count: indent)
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            if pairs.isEmpty { out += "{}".utf8; return }
            out += "{\n".utf8
            for (index, (key, value)) in pairs.enumerated() {
                out += repeatElement(0x20, count: indent + 2)
                JSON.appendString(key, to: &out)
                out += ": ".utf8
                value.write(to: &out, indent: indent + 2)
                out += (index + 1 < pairs.count ? ",\n" : "\n").utf8
            }
            out += repeatElement(0x20, count: indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The text with a final newline.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(to: &out, indent: 0)
        out.append(0x0A)
        return out
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copied whole (a pending listing of a million devices writes 15M strings).
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0x7F }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\"".utf8
            case UInt8(ascii: "\\"): out += "\\\\".utf8
            case 0x0A: out += "\\n".utf8
            case 0x0D: out += "\\r".utf8
            case 0x09: out += "\\t".utf8
            case 0..<0x20, 0x7F:
                out += "\\u00".utf8
                Hex.append(byte, to: &out)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The member `key` of an object, nil for other values.
    public subscript(key: String) -> JSON? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }
}

/// An admin result an API or provctl can print as JSON.
public protocol JSONRepresentable {
    var json: JSON { get }
}
