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
            else $PROVISIONER_DB, else \(DeviceStore.defaultPath).

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

            Example: provctl --db /var/lib/provisioner/provisioner.db device list --group sales
            """,
        version: Provctl.version,
        subcommands: [
            Init.self, DeviceCommand.self, SetCommand.self, UnsetCommand.self, VarCommand.self, UnvarCommand.self,
            SettingsCommand.self, VariablesCommand.self, Explain.self, Render.self, Check.self, Claims.self,
            Adopt.self, ImportDevices.self, ExportDevices.self, ImportProfile.self, History.self, Revert.self,
            Groups.self, Models.self, Backup.self, Restore.self, Completions.self,
            Fetches.self, Pending.self, Resync.self, DriftCommand.self, Syslog.self, RetentionCommand.self, Prune.self,
            NodeCommand.self, SettleEmpty.self,
        ]
    )

    // Declared here too so that `provctl --db PATH init` reads as well as `provctl init --db PATH`.
    @OptionGroup var store: StoreOptions

    /// `provctl --version`: the release and the database schema it reads and writes.
    static let version = "provctl 1.1.0 (configuration schema \(DeviceStore.schemaVersion), journal schema \(Journal.schemaVersion))"

    /// Runs the command; every failure is reported once (as JSON with --json) and exits with its documented status.
    static func main() {
        do {
            var command = try parseAsRoot()
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
        case let refusal as Refusal:
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
