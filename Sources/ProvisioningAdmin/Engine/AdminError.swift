public import Provisioning

/// Why an admin operation failed: the documented exit status it maps to (`kind`), the message an admin reads,
/// the field and rule at fault, the items of a failure about many things (`problems`), and a typed `cause`, so
/// that a caller (provctl, an HTTP API) decides what to do from the cause and never from the message's text.
public struct AdminError: Error, CustomStringConvertible, Sendable {
    /// The exit statuses `provctl --help` documents; an API maps them to its own statuses.
    public enum Kind: Int32, Sendable {
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
        public var name: String {
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

    /// What went wrong, as a value to switch on.
    public enum Cause: Sendable, Equatable {
        /// Another process held a lock on the database for longer than the busy timeout (`SQLITE_BUSY`,
        /// `SQLITE_LOCKED` and their extended codes).
        case lockHeld(code: Int32)
        /// Any other SQLite failure, with its extended result code.
        case sqlite(code: Int32)
        /// A system call failed (a file could not be read or written), with its `errno`.
        case system(errno: Int32)
        /// A value breaks a rule.
        case rule(field: String, rule: String)
        /// No such device, claim, setting, variable or history entry.
        case notFound
        /// The MAC is already a device, or the target is taken.
        case conflict
        /// A row a revert would restore was changed again since (`RevertConflict`).
        case revertConflict(entry: Int, table: String)
        /// Devices that render today would no longer render.
        case breaks
        /// A malformed argument or input.
        case usage
        /// None of the above: the kind and the message say it all.
        case other

        /// The cause an error of this kind has when its maker names none.
        static func implied(by kind: Kind, field: String?, rule: String?) -> Cause {
            switch kind {
            case .notFound: .notFound
            case .conflict: .conflict
            case .breaks: .breaks
            case .usage: .usage
            case .refused: field.flatMap { field in rule.map { .rule(field: field, rule: $0) } } ?? .other
            default: .other
            }
        }
    }

    /// One item of a failure about many things: a CSV row, a device that would break.
    public struct Problem: Sendable {
        public var line: Int?
        public var mac: String?
        public var field: String?
        public var value: String?
        public var rule: String

        public init(line: Int? = nil, mac: String? = nil, field: String? = nil, value: String? = nil, rule: String) {
            self.line = line
            self.mac = mac
            self.field = field
            self.value = value
            self.rule = rule
        }

        public var json: JSON {
            // Every key always present, null when it does not apply.
            .object([("line", .number(line)), ("mac", .text(mac)), ("field", .text(field)), ("value", .text(value)),
                     ("rule", .string(rule))])
        }

        /// The problems as lines, those of devices grouped by identical cause: "N devices (first MACs): rule",
        /// so that 2,000 devices failing for one reason are one line (JSON keeps every problem).
        public static func grouped(_ problems: [Problem]) -> [String] {
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

        public var text: String {
            var parts: [String] = []
            if let line { parts.append("line \(line)") }
            if let mac { parts.append(mac) }
            if let field { parts.append(field + (value.map { " \"\($0)\"" } ?? "")) }
            return parts.joined(separator: ": ") + (parts.isEmpty ? "" : ": ") + rule
        }
    }

    public var kind: Kind
    public var message: String
    /// The argument, column or parameter at fault, and the rule it broke, when there is one.
    public var field: String?
    public var rule: String?
    public var problems: [Problem] = []
    public var cause: Cause
    /// The caller already printed its result (a dry run's report): print no error.
    public var reported = false

    /// An error whose cause follows from its kind (and field and rule), unless `cause` names it.
    public init(_ kind: Kind, _ message: String, field: String? = nil, rule: String? = nil, problems: [Problem] = [],
                cause: Cause? = nil) {
        self.kind = kind
        self.message = message
        self.field = field
        self.rule = rule
        self.problems = problems
        self.cause = cause ?? Cause.implied(by: kind, field: field, rule: rule)
    }

    /// A runtime error caused by `underlying`: its SQLite result code (a lock held by another process apart) or
    /// the rule a `RuleViolation` names is kept as the cause.
    public init(_ kind: Kind, _ message: String, field: String? = nil, rule: String? = nil, underlying: any Error) {
        self.init(kind, message, field: field, rule: rule, cause: Cause(underlying))
    }

    public var description: String { message }

    /// True when another process held the database's lock for longer than provctl waits.
    public var isLockHeld: Bool { if case .lockHeld = cause { true } else { false } }

    public static func refused(_ violation: RuleViolation, source: String? = nil) -> AdminError {
        AdminError(.refused, "refused: " + (source.map { $0 + ": " } ?? "") + violation.description, field: violation.name,
                   rule: violation.rule)
    }

    /// An SQLite failure, as provctl has always worded it ("database: SQLite error 5: ..."), its code kept.
    public static func database(_ error: SQLiteError, prefix: String = "database: ") -> AdminError {
        AdminError(.runtime, prefix + "\(error)", cause: Cause(error))
    }

    /// A row to revert changed since.
    public static func revertConflict(_ conflict: RevertConflict) -> AdminError {
        AdminError(.conflict, conflict.description, rule: "the row changed since",
                   cause: .revertConflict(entry: conflict.entry, table: conflict.table))
    }
}

extension AdminError.Cause {
    /// The cause an underlying error carries: SQLite's result code, a rule, a revert conflict; `.other` else.
    public init(_ error: any Error) {
        switch error {
        case let error as SQLiteError: self = error.isBusy ? .lockHeld(code: error.code) : .sqlite(code: error.code)
        case let error as AdminError: self = error.cause
        case let violation as RuleViolation: self = .rule(field: violation.name, rule: violation.rule)
        case let conflict as RevertConflict: self = .revertConflict(entry: conflict.entry, table: conflict.table)
        default: self = .other
        }
    }
}
