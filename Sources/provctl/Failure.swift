import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// A failure with its documented exit status. `ValidationError` (a malformed argument) stays ArgumentParser's
/// and exits 64.
struct Failure: Error, CustomStringConvertible {
    /// The exit statuses `provctl --help` documents.
    enum Kind: Int32 {
        /// A `--dry-run` that found nothing to change: stop before the "changed" line, exit 0.
        case nothingWritten = 0
        /// The database is missing or unreadable, SQLite failed, a file could not be read or written.
        case runtime = 1
        /// `--dry-run`: at least one device's profile would change (nothing was written).
        case wouldChange = 2
        /// No such device, claim, setting or variable.
        case notFound = 3
        /// The MAC is already a device, or the target is taken.
        case conflict = 4
        /// Done, with findings: `check` found problems, `pending` lists devices, `drift` found differences.
        case problems = 5
        /// The change would leave devices that render today unable to render (a phone would get 500); nothing was
        /// written (`--force` writes anyway). A `--dry-run` that finds such devices exits with it too.
        case breaks = 6
        /// `provctl resync`: at least one phone did not accept the push.
        case pushFailed = 7
        /// Done, with rows skipped: `import --skip-invalid` left bad rows out (the good ones were written).
        case rowsSkipped = 8
        /// A malformed or missing argument, an unknown subcommand or option; a bulk removal without `--yes`.
        case usage = 64
        /// A value breaks a rule; a CSV or profile file is malformed. Nothing was written.
        case refused = 65

        /// The name JSON errors carry.
        var name: String {
            switch self {
            case .nothingWritten: "ok"
            case .runtime: "runtime"
            case .wouldChange: "would_change"
            case .notFound: "not_found"
            case .conflict: "conflict"
            case .problems: "problems"
            case .breaks: "breaks"
            case .pushFailed: "push_failed"
            case .rowsSkipped: "rows_skipped"
            case .usage: "usage"
            case .refused: "refused"
            }
        }
    }

    /// One item of a failure about many things: a CSV row, a device that would break.
    struct Problem {
        var line: Int?
        var mac: String?
        var field: String?
        var value: String?
        var rule: String

        var json: JSON {
            // Every key always present, null when it does not apply.
            .object([("line", .number(line)), ("mac", .text(mac)), ("field", .text(field)), ("value", .text(value)),
                     ("rule", .string(rule))])
        }

        /// The problems as lines, those of devices grouped by identical cause: "N devices (first MACs): rule",
        /// so that 2,000 devices failing for one reason are one line (JSON keeps every problem).
        static func grouped(_ problems: [Problem]) -> [String] {
            var order: [String] = []
            var macs: [String: [String]] = [:]
            var lines: [String] = []
            for problem in problems {
                guard let mac = problem.mac, problem.line == nil else { lines.append(problem.text); continue }
                var bare = problem
                bare.mac = nil
                let key = bare.text
                if macs[key] == nil { order.append(key) }
                macs[key, default: []].append(mac)
            }
            for key in order {
                let list = macs[key]!
                lines.append(list.count == 1 ? list[0] + ": " + key
                             : "\(list.count) devices (\(list.prefix(3).joined(separator: ", "))\(list.count > 3 ? ", ..." : "")): " + key)
            }
            return lines
        }

        var text: String {
            var parts: [String] = []
            if let line { parts.append("line \(line)") }
            if let mac { parts.append(mac) }
            if let field { parts.append(field + (value.map { " \"\($0)\"" } ?? "")) }
            return parts.joined(separator: ": ") + (parts.isEmpty ? "" : ": ") + rule
        }
    }

    var kind: Kind
    var message: String
    /// The argument, column or parameter at fault, and the rule it broke, when there is one.
    var field: String?
    var rule: String?
    var problems: [Problem] = []
    /// The command already printed its result (a dry run's report): print no error.
    var reported = false

    init(_ kind: Kind, _ message: String, field: String? = nil, rule: String? = nil, problems: [Problem] = []) {
        self.kind = kind
        self.message = message
        self.field = field
        self.rule = rule
        self.problems = problems
    }

    var description: String { message }

    static func refused(_ violation: RuleViolation, source: String? = nil) -> Failure {
        Failure(.refused, "refused: " + (source.map { $0 + ": " } ?? "") + violation.description, field: violation.name,
                rule: violation.rule)
    }

    /// Prints the failure: JSON on stdout with `--json`, else lines on stderr.
    func report() {
        if reported { return }
        if Output.json {
            Output.emit(ErrorResult(failure: self), json: true)
            return
        }
        if !message.isEmpty { FileHandle.standardError.write(Data(("provctl: " + TextEscaper.visible(message) + "\n").utf8)) }
        for line in Problem.grouped(problems) { FileHandle.standardError.write(Data(("  " + TextEscaper.visible(line) + "\n").utf8)) }
    }
}

/// Writes one line to stderr; a "provctl: warning: ..." line is also kept for the JSON result.
func warn(_ line: String) {
    if line.hasPrefix("provctl: warning: ") { Output.warnings.append(String(line.dropFirst("provctl: warning: ".count))) }
    FileHandle.standardError.write(Data((TextEscaper.visible(line) + "\n").utf8))
}
