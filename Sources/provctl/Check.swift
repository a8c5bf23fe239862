import ArgumentParser
import Foundation
import Provisioning
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

    struct Finding {
        var severity: String
        var location: String
        var message: String
    }

    func run() throws {
        let opened = try store.open()
        var findings: [Finding] = []
        var deviceMACs: Set<String> = []
        let renderer = try ProfileRenderer(store: opened, cachesSharedLayers: true)
        var devices = 0
        if !permissionsOnly {
        try renderer.forEachDevice { device in
            devices += 1
            deviceMACs.insert(device.mac.hex)
            for problem in deviceProblems(renderer, device, output: output) {
                findings.append(Finding(severity: "problem", location: "device:\(device.mac)", message: problem))
            }
        }
        for setting in try permissionsOnly ? [] : opened.settings() {
            let location = "\(setting.scope) \(setting.name)"
            do {
                let checked = try ParameterRules.check(name: setting.name, value: setting.value)
                for warning in checked.warnings { findings.append(Finding(severity: "warning", location: location, message: warning)) }
            } catch {
                findings.append(Finding(severity: "problem", location: location,
                                        message: "\"\(output.shown(name: setting.name, value: setting.value))\": \(ruleText(error))"))
            }
            if case .device(let mac) = setting.scope, !deviceMACs.contains(mac.hex) {
                findings.append(Finding(severity: "warning", location: location, message: "\(mac) is not a device"))
            }
        }
        }
        for variable in try permissionsOnly ? [] : opened.variables() {
            let location = "\(variable.scope) {{\(variable.name)}}"
            do {
                try ParameterRules.checkVariable(name: variable.name, value: variable.value)
            } catch {
                findings.append(Finding(severity: "problem", location: location, message: ruleText(error)))
            }
            if case .device(let mac) = variable.scope, !deviceMACs.contains(mac.hex) {
                findings.append(Finding(severity: "warning", location: location, message: "\(mac) is not a device"))
            }
        }
        let journal = store.journals.local
        if let user = WebUser(name: webUser) {
            for finding in accessFindings(user: user, database: store.path, journal: journal) {
                findings.append(Finding(severity: "problem", location: finding.path, message: finding.problem + "; fix: " + finding.fix))
            }
        } else {
            findings.append(Finding(severity: "warning", location: "--web-user", message: "no user \(webUser) on this machine: access not checked"))
        }
        if FileManager.default.fileExists(atPath: journal) == false {
            findings.append(Finding(severity: "warning", location: journal,
                                    message: "no journal yet: profile-cgi creates it at its first answer (then seen, claims and fetches are kept)"))
        }
        let lost = try lostJournalWrites(opened, journal: journal)
        for row in lost.recorded {
            findings.append(Finding(severity: "problem", location: "journal of \(row.node)",
                                    message: "\(row.count) \(row.what) record(s) lost, the last at \(timestamp(row.last)): the journal could not be written (busy or not writable)"))
        }
        for (what, count) in lost.pending.sorted(by: { $0.key < $1.key }) {
            findings.append(Finding(severity: "problem", location: journal,
                                    message: "\(count) \(what) record(s) lost and not yet counted in the journal: profile-cgi cannot write it"))
        }
        let problems = findings.filter { $0.severity == "problem" }.count
        if output.json {
            try printJSON(["devices": devices, "problems": problems, "warnings": findings.count - problems,
                           "findings": findings.map { ["severity": $0.severity, "where": $0.location, "message": $0.message] }])
        } else {
            if !findings.isEmpty {
                var table = Table("SEVERITY", "WHERE", "FINDING")
                for finding in findings { table.append([finding.severity, finding.location, finding.message]) }
                table.print()
            }
            print("checked \(devices) device(s): \(problems) problem(s), \(findings.count - problems) warning(s)")
        }
        if problems > 0 {
            var failure = Failure(.problems, "check: \(problems) problem(s)")
            failure.reported = output.json
            throw failure
        }
    }
}

/// The rule a value broke, for a finding.
func ruleText(_ error: any Error) -> String { (error as? RuleViolation)?.rule ?? "\(error)" }
