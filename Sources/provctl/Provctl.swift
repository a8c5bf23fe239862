import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

@main
struct Provctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provctl",
        abstract: "Manage the devices and settings Provisioner serves to Cisco MPP phones.",
        discussion: """
            The database is the SQLite file profile-cgi reads: --db PATH (before or after the subcommand), \
            else $PROVISIONER_DB, else \(ConfigurationStore.defaultPath).

            Scopes: default, model:NAME, group:NAME, device:MAC; later scopes win. MACs may be spelled \
            000e08abcdef, 000E08ABCDEF, 00:0e:08:ab:cd:ef, 00-0E-08-AB-CD-EF or 000e.08ab.cdef.

            Every change is validated against the rules of Cisco's MPP provisioning guide, renders the devices \
            it reaches and is refused (nothing written) when one that renders today would no longer render \
            (--force writes anyway), is recorded in the audit log (provctl history, secrets masked) and can be \
            undone (provctl revert ID). --dry-run shows what would change, grouped by identical change \
            (--diff: every device's diff), nothing written. Secrets (passwords, GPP_SA..SD, keys, the \
            --key/--pwd of a rule) are masked as *** in every output unless --show-secrets; `render` prints the \
            profile exactly as served.

            Output is a table or a line by default; --json prints JSON for scripts, errors included: \
            {"error": {"code": NAME, "status": N, "message": ..., "field": ..., "rule": ..., "problems": [...]}} \
            on stdout, with the exit status below.

            Exit status:
              0   ok: success (a --dry-run with nothing to change; a clean check)
              1   runtime: database missing or unreadable, SQLite error, file I/O
              2   would_change: --dry-run, at least one profile would change (nothing was written)
              3   not_found: no such device, claim, setting, variable or history entry
              4   conflict: the MAC is already a device, a replacement MAC is taken, a row to revert changed since
              5   problems: done, with findings (check found problems, pending listed devices, drift found differences)
              6   breaks: devices that render today would no longer render; nothing written (--dry-run too)
              7   push_failed: resync, at least one phone pushed did not accept (skipped ones do not count)
              8   rows_skipped: done, with rows skipped (import --skip-invalid left bad rows out)
              64  usage: unknown subcommand or option, malformed argument; removing several devices without --yes
              65  refused: a value breaks a rule, a CSV row or profile file is malformed; nothing written

            Shell completions: provctl completions bash|zsh|fish (the same script as \
            provctl --generate-completion-script bash). For bash: \
            provctl completions bash > /etc/bash_completion.d/provctl

            Commands are grouped: device (add, list, import, export, ...), setting (set, unset, list, ...), \
            variable (set, unset, list), loop (fetches, pending, resync, drift, ...). The flat spellings of \
            earlier releases (provctl set, var, settings, import, fetches, ...) still work, unlisted.

            Example: provctl --db /var/lib/provisioner/provisioner.db device list --group sales
            """,
        version: Provctl.version,
        subcommands: Provctl.groups + Provctl.flatSpellings
        )

    // Declared here too so that `provctl --db PATH init` reads as well as `provctl init --db PATH`.
    @OptionGroup var store: StoreOptions

    /// `provctl --version`: the release and the database schema it reads and writes.
    static let version = "provctl 1.1.0 (configuration schema \(ConfigurationStore.schemaVersion), journal schema \(Journal.schemaVersion))"

    /// Runs the command; every failure is reported once (as JSON with --json) and exits with its documented status.
    static func main() {
        do {
            var command = try parseAsRoot(grouped(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch {
            guard let failure = failure(for: error) else { exit(withError: error) }
            failure.report()
            Foundation.exit(failure.kind.rawValue)
        }
    }

    /// Our failure for an error; nil for ArgumentParser's help, version and completion "errors" and, without
    /// --json, its usage errors (printed with the usage by `exit(withError:)`).
    static func failure(for error: any Error) -> Failure? {
        switch error {
        case var failure as Failure:
            // A lock another process holds: say who (LockHolders), from the SQLite code the error carries.
            if failure.isLockHeld { failure.message = LockHolders.explain(failure.message) }
            return failure
        case let error as SQLiteError:
            var failure = Failure.database(error)
            if failure.isLockHeld { failure.message = LockHolders.explain(failure.message) }
            return failure
        case let conflict as RevertConflict: return Failure.revertConflict(conflict)
        case let violation as RuleViolation: return Failure.refused(violation)
        case let error as any Refusing:
            let refusal = error.refusal
            return Failure(.runtime, refusal.reason + (refusal.detail.map { ": \($0)" } ?? ""))
        default:
            let code = exitCode(for: error)
            guard Output.json, code != .success else { return nil }
            let message = self.message(for: error)
            // ValidationError messages read "FIELD: rule".
            var field: String?, rule: String?
            if let colon = message.range(of: ": "), !message[..<colon.lowerBound].contains(" ") {
                field = String(message[..<colon.lowerBound])
                rule = String(message[colon.upperBound...])
            }
            return Failure(.usage, message, field: field, rule: rule)
        }
    }
}

extension Provctl {
    /// The commands `provctl --help` lists. Typed explicitly: a literal mixing many command types makes the type
    /// checker search for minutes.
    static let groups: [any ParsableCommand.Type] = [
        Init.self, DeviceCommand.self, SettingCommand.self, VariableCommand.self, LoopCommand.self,
        Explain.self, Render.self, Check.self, History.self, Revert.self, Groups.self, Models.self,
        Backup.self, Restore.self, NodeCommand.self, JobCommand.self, Completions.self,
        ExpectCommand.self,
        CampaignCommand.self,
    ]

    /// The flat spellings of earlier releases, each the same command under its old name, unlisted
    /// (`provctl set` is `provctl setting set`, `provctl fetches` is `provctl loop fetches`).
    static let flatSpellings: [any ParsableCommand.Type] = [
        Hidden<SetCommand>.self, Hidden<UnsetCommand>.self, Hidden<VarCommand>.self, Hidden<UnvarCommand>.self,
        Hidden<SettingsCommand>.self, Hidden<VariablesCommand>.self, Hidden<SettleEmpty>.self, Hidden<ImportProfile>.self,
        Hidden<ImportDevices>.self, Hidden<ExportDevices>.self,
    ]

    /// The flat spellings of the loop's commands (`provctl pending` is `provctl loop pending`): the command line
    /// is read as its grouped spelling. (Wrapped in `Hidden`, a command that names itself by its type printed its
    /// name twice in its usage line.)
    static let loopSpellings: Set<String> = [
        "fetches", "pending", "resync", "drift", "syslog", "retention", "prune", "claims", "adopt",
    ]

    /// `arguments` with `loop` before a flat spelling of a loop command: the first word that is neither an option
    /// nor `--db`'s value (or the word after `help`).
    static func grouped(_ arguments: [String]) -> [String] {
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" { break }
            if word == "--db" { index += 2; continue }
            if word.hasPrefix("-") || word == "help" { index += 1; continue }
            if loopSpellings.contains(word) { return Array(arguments[..<index]) + ["loop"] + Array(arguments[index...]) }
            break
        }
        return arguments
    }
}

/// A command under its own name, left out of `--help` (an old spelling kept working).
struct Hidden<Command: ParsableCommand>: ParsableCommand {
    static var configuration: CommandConfiguration {
        var configuration = Command.configuration
        // The name the command had at the top level (its type's name when it names none).
        if configuration.commandName == nil { configuration.commandName = String(describing: Command.self).lowercased() }
        configuration.shouldDisplay = false
        return configuration
    }

    @OptionGroup var command: Command

    mutating func run() throws { try command.run() }
}

/// A command under another name (`provctl variable set` is `var`), with the same arguments.
protocol RenamedCommand: ParsableCommand {
    associatedtype Command: ParsableCommand
    static var name: String { get }
    var command: Command { get set }
}

extension RenamedCommand {
    static var configuration: CommandConfiguration {
        var configuration = Command.configuration
        configuration.commandName = name
        configuration.aliases = []
        return configuration
    }

    mutating func run() throws { try command.run() }
}

struct SettingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setting",
        abstract: "Set, unset and list parameters at a scope; import a phone's profile; settle empty values.",
        discussion: "Example: provctl setting set default Resync_Periodic=3600",
        subcommands: SettingCommand.members
    )

    static let members: [any ParsableCommand.Type] = [
        SetCommand.self, UnsetCommand.self, SettingList.self, SettingImport.self, SettleEmpty.self,
    ]
}

/// `provctl setting list` (`provctl settings`).
struct SettingList: RenamedCommand {
    static let name = "list"
    @OptionGroup var command: SettingsCommand
}

/// `provctl setting import` (`provctl import-profile`).
struct SettingImport: RenamedCommand {
    static let name = "import"
    @OptionGroup var command: ImportProfile
}

struct VariableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "variable",
        abstract: "Set, unset and list {{variables}} at a scope.",
        discussion: "Example: provctl variable set group:sales sip_domain=sales.example.com",
        subcommands: VariableCommand.members
    )

    static let members: [any ParsableCommand.Type] = [VariableSet.self, VariableUnset.self, VariableList.self]
}

/// `provctl variable set` (`provctl var`).
struct VariableSet: RenamedCommand {
    static let name = "set"
    @OptionGroup var command: VarCommand
}

/// `provctl variable unset` (`provctl unvar`).
struct VariableUnset: RenamedCommand {
    static let name = "unset"
    @OptionGroup var command: UnvarCommand
}

/// `provctl variable list` (`provctl variables`, `provctl vars`).
struct VariableList: RenamedCommand {
    static let name = "list"
    @OptionGroup var command: VariablesCommand
}

struct LoopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loop",
        abstract: "What phones did and what they should do next: fetches, pending, resync, drift, syslog, claims.",
        discussion: "Example: provctl loop pending --json",
        subcommands: LoopCommand.members
    )

    static let members: [any ParsableCommand.Type] = [
        Fetches.self, Pending.self, Resync.self, DriftCommand.self, Syslog.self, Claims.self, Adopt.self,
        RetentionCommand.self, Prune.self,
    ]
}
