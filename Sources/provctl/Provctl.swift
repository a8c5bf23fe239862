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

            Every change is validated (FACTS.md §4, §6), recorded in the audit log (provctl history) with \
            secrets masked, and can be previewed with --dry-run: the devices whose profile would change and a \
            diff of their rendered XML, nothing written. Secrets (passwords, GPP_SA..SD, keys, the --key/--pwd \
            of a rule) are masked as *** in every output unless --show-secrets; `render` prints the profile \
            exactly as served.

            Output is a table by default; --json gives JSON for scripts.

            Exit status:
              0   success (a --dry-run with nothing to change; a clean check)
              1   runtime error: database missing or unreadable, SQLite error, file I/O
              2   --dry-run: at least one profile would change (nothing was written)
              3   not found: no such device, claim, setting or variable
              4   conflict: the MAC is already a device, or a replacement MAC is taken
              5   check found problems
              6   resync: at least one phone did not accept the push
              64  usage: unknown subcommand or option, malformed argument (MAC, scope, form)
              65  refused: a value breaks a rule, a CSV row or profile file is malformed; nothing written

            Shell completions: provctl completions bash|zsh|fish (the same script as \
            provctl --generate-completion-script bash). For bash: \
            provctl completions bash > /etc/bash_completion.d/provctl

            Example: provctl --db /var/lib/provisioner/provisioner.db device list --group sales
            """,
        subcommands: [
            Init.self, DeviceCommand.self, SetCommand.self, UnsetCommand.self, VarCommand.self, UnvarCommand.self,
            SettingsCommand.self, VariablesCommand.self, Explain.self, Render.self, Check.self, Claims.self,
            Adopt.self, ImportDevices.self, ExportDevices.self, ImportProfile.self, History.self, Completions.self,
            Fetches.self, Pending.self, Resync.self, DriftCommand.self, Syslog.self, RetentionCommand.self, Prune.self,
        ]
    )

    // Declared here too so that `provctl --db PATH init` reads as well as `provctl init --db PATH`.
    @OptionGroup var store: StoreOptions

    /// Runs the command; our failures exit with their documented status, SQLite errors with 1.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as Failure {
            if !failure.message.isEmpty { warn("provctl: " + LockHolders.explain(failure.message)) }
            Foundation.exit(failure.kind.rawValue)
        } catch let error as SQLiteError {
            warn("provctl: database: " + LockHolders.explain("\(error)"))
            Foundation.exit(Failure.Kind.runtime.rawValue)
        } catch let violation as RuleViolation {
            warn("provctl: refused: \(violation)")
            Foundation.exit(Failure.Kind.refused.rawValue)
        } catch let refusal as Refusal {
            warn("provctl: \(refusal.reason)" + (refusal.detail.map { ": \($0)" } ?? ""))
            Foundation.exit(Failure.Kind.runtime.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}
