import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

extension JSON {
    /// An object whose members are written with their keys sorted, the order provctl's listings have always had.
    static func sorted(_ members: [String: JSON]) -> JSON { .object(members.keys.sorted().map { ($0, members[$0]!) }) }
}

/// What a command prints: the same result as text for people and as JSON for scripts.
protocol CommandResult: JSONRepresentable {
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
    var json: JSON

    init(table: Table, items: [JSON]) {
        self.table = table
        self.json = .array(items)
    }

    /// An engine's listing (its JSON) beside the table provctl prints of it.
    init(table: Table, listing: some JSONRepresentable) {
        self.table = table
        self.json = listing.json
    }

    var text: String { table.rows.isEmpty && table.headers.isEmpty ? "" : table.render() }
}

/// A result that is one JSON value, and its text form (none by default).
struct ValueResult: CommandResult {
    var json: JSON
    var text: String = ""
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
