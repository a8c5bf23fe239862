import ArgumentParser
import ProvisioningAdmin

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate everything stored, and find devices whose profile cannot be rendered.",
        discussion: """
            Checks each setting against its rule and each variable's name and value; renders every device's \
            parameters (an undefined {{variable}} or a loop makes profile-cgi answer 500) and checks the rules \
            again on values resolved from {{variables}}. Unknown parameter names and settings of devices that do \
            not exist are warnings. Then what the web server's user (--web-user, default www-data) needs: to \
            read the database and to read and write the journal and its folder; each problem comes with the \
            command that fixes it. Journal records profile-cgi could not write (its lost counters) are reported. \
            Exit status 5 when there is a problem.
            Examples: provctl check --json
                      provctl check --permissions-only --web-user www-data
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The user the web server runs profile-cgi as.") var webUser = "www-data"
    @Flag(help: "Only check what the web server's user can read and write, and lost journal writes.") var permissionsOnly = false

    func run() throws {
        let opened = try store.openForReading()
        let report = try CheckEngine(store: opened, databasePath: store.path, journalPath: store.journals.local,
                                     disclosure: output.disclosure)
            .run(webUser: webUser, permissionsOnly: permissionsOnly)
        let problems = report.problems
        if output.json {
            printJSON(report.json)
        } else {
            if !report.findings.isEmpty {
                var table = Table("SEVERITY", "WHERE", "FINDING")
                for finding in report.findings { table.append([finding.severity.rawValue, finding.subject, finding.message]) }
                table.print()
            }
            print("checked \(report.devices) device(s): \(problems) problem(s), \(report.warnings) warning(s)")
        }
        if problems > 0 {
            var failure = Failure(.problems, "check: \(problems) problem(s)")
            failure.reported = output.json
            throw failure
        }
    }
}
