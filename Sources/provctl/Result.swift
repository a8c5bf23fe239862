import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// A JSON value. Every command's result becomes one, and one writer (`JSONText`) prints it: keys in the order the
/// result gives them.
enum JSON {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    static func text(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
    static func number(_ value: Int?) -> JSON { value.map(JSON.int) ?? .null }

    /// The dictionaries, arrays and scalars the listing commands build (`[String: Any]`), keys sorted.
    init(any value: Any) {
        switch value {
        case let json as JSON: self = json
        case let text as String: self = .string(text)
        case let flag as Bool: self = .bool(flag)
        case let number as Int: self = .int(number)
        case let array as [Any]: self = .array(array.map(JSON.init(any:)))
        case let object as [String: Any]: self = .object(object.keys.sorted().map { ($0, JSON(any: object[$0]!)) })
        default: self = .null
        }
    }

    func write(to out: inout [UInt8], indent: Int) {
        switch self {
        case .string(let text): JSONText.appendString(text, to: &out)
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
                JSONText.appendString(key, to: &out)
                out += ": ".utf8
                value.write(to: &out, indent: indent + 2)
                out += (index + 1 < pairs.count ? ",\n" : "\n").utf8
            }
            out += repeatElement(0x20, count: indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The text with a final newline.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(to: &out, indent: 0)
        out.append(0x0A)
        return out
    }
}

/// What a command prints: the same result as text for people and as JSON for scripts.
protocol CommandResult {
    var json: JSON { get }
    /// The text form; empty prints nothing.
    var text: String { get }
}

/// The one place results reach stdout.
enum Output {
    /// Set by `--json` anywhere on the command line: errors are then JSON too.
    nonisolated(unsafe) static var json = CommandLine.arguments.prefix { $0 != "--" }.contains("--json")
    /// Warnings printed to stderr during this run; JSON results carry them too.
    nonisolated(unsafe) static var warnings: [String] = []

    static func emit(_ result: some CommandResult, json: Bool = Output.json) {
        if json {
            var value = result.json
            if case .object(var pairs) = value, !warnings.isEmpty, !pairs.contains(where: { $0.0 == "warnings" }) {
                pairs.append(("warnings", .array(warnings.map(JSON.string))))
                value = .object(pairs)
            }
            FileHandle.standardOutput.write(Data(value.bytes))
        } else {
            let text = result.text
            if !text.isEmpty { print(text) }
        }
    }
}

/// What a change command did: "set 2 parameter(s) at default", as text and as JSON.
struct ChangeResult: CommandResult {
    var action: String
    var message: String
    /// How many things the command changed (rows, devices), as its message counts them.
    var count: Int
    var fields: [(String, JSON)] = []
    /// The change set the command wrote (`ChangeRunner`), what `provctl revert` takes; nil when it wrote none.
    nonisolated(unsafe) static var changeSet: Int?

    var json: JSON {
        var pairs: [(String, JSON)] = [("ok", .bool(true)), ("action", .string(action)), ("count", .int(count)),
                                       ("message", .string(message))] + fields
        if !pairs.contains(where: { $0.0 == "change_set" }) { pairs.append(("change_set", .number(Self.changeSet))) }
        if !pairs.contains(where: { $0.0 == "warnings" }) { pairs.append(("warnings", .array(Output.warnings.map(JSON.string)))) }
        return .object(pairs)
    }
    /// The message, then one line naming the change set when the command wrote one (what `provctl revert` takes),
    /// unless the message names it already (`restore`).
    var text: String {
        guard let id = Self.changeSet, !message.contains("change set #") else { return message }
        return message + "\nchange set #\(id) (provctl revert \(id) undoes it)"
    }
}

/// A listing as a table, and the same rows as a JSON array.
struct ListResult: CommandResult {
    var table: Table
    var items: [JSON]
    var json: JSON { .array(items) }
    var text: String { table.rows.isEmpty && table.headers.isEmpty ? "" : table.render() }
}

/// Any value the older listing commands build as dictionaries.
struct AnyResult: CommandResult {
    var value: Any
    var text: String = ""
    var json: JSON { JSON(any: value) }
}

/// A failure as JSON: `{"error": {"code": "refused", "status": 65, "message": ..., "field": ..., "rule": ...}}`.
struct ErrorResult: CommandResult {
    var failure: Failure

    var json: JSON {
        var pairs: [(String, JSON)] = [
            ("code", .string(failure.kind.name)), ("status", .int(Int(failure.kind.rawValue))),
            ("message", .string(failure.message)), ("field", .text(failure.field)), ("rule", .text(failure.rule)),
        ]
        pairs.append(("problems", .array(failure.problems.map(\.json))))
        pairs.append(("warnings", .array(Output.warnings.map(JSON.string))))
        return .object([("error", .object(pairs))])
    }

    var text: String { "" }
}
