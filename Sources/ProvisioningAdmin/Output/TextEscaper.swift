import Provisioning

/// The one escaper for what provctl prints for people (tables, lines, warnings and errors on stderr): text that
/// came from outside (syslog lines, User-Agents, a phone's SIP answer, a report, a setting a caller wrote) must
/// not drive the admin's terminal. Shown visibly instead of passed through:
///
/// - C0 control characters (ESC, BEL, CR, backspace, ...) and DEL: `\x1b`, `\x7f`; a newline stays one unless
///   the caller asks for one line (`singleLine`), a tab stays a tab;
/// - C1 control characters (U+0080..U+009F, which some terminals read as CSI and OSC): `\u{9b}`;
/// - bidirectional formatting characters, which reorder what the admin reads (Trojan Source, CVE-2021-42574):
///   U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069: `\u{202e}`;
/// - a literal backslash stays a backslash (the output is for reading, not for parsing back).
///
/// JSON output is not escaped here: JSON escapes control characters itself and stays machine-readable.
public enum TextEscaper {
    public static func visible(_ text: String, singleLine: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, singleLine: singleLine) }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar, singleLine: singleLine) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            let value = scalar.value
            if value < 0x80 {
                out += "\\x" + Hex.text(UInt64(value), width: 2)
            } else {
                out += "\\u{" + Hex.text(UInt64(value)) + "}"
            }
        }
        return out
    }

    /// True for the scalars `visible` rewrites.
    public static func needsEscape(_ scalar: Unicode.Scalar, singleLine: Bool = false) -> Bool {
        switch scalar.value {
        case 0x0A: return singleLine
        case 0x09: return false
        case 0x00..<0x20, 0x7F, 0x80...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
