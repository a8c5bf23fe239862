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
        let opened = try store.openForReading()
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
            if setting.value.isEmpty && setting.intent == nil {
                findings.append(Finding(severity: "warning", location: location + (setting.partition.isEmpty ? "" : " (partition \(setting.partition))"),
                                        message: "empty value stored before schema 9: intent unknown, served <\(setting.name)/> (leave the phone's value); "
                                        + "settle it: provctl settle-empty --as empty|leave"))
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
        let lost = LostRecords.read(store: opened, journal: store.journals.local)
        if let finding = lost.finding { findings.append(finding) }
        let problems = findings.filter { $0.severity == "problem" }.count
        if output.json {
            printJSON(.sorted(["devices": .int(devices), "problems": .int(problems), "warnings": .int(findings.count - problems),
                               "findings": .array(findings.map { .sorted(["severity": .string($0.severity),
                                                                          "where": .string($0.location),
                                                                          "message": .string($0.message)]) }),
                               "lost": lost.json]))
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

/// What serving could not record (a full or read-only disk, a journal locked past the wait, a killed process): the
/// `lost` rows of every journal (the `lost` view over them, folded in by the next write that got through) plus the
/// lines still waiting in this node's `LostCounter` file in /dev/shm.
struct LostRecords {
    /// Per (node, kind): count, first and last time (Unix seconds).
    var rows: [(node: String, what: String, count: Int, first: Int, last: Int)] = []
    /// Per kind, the lines not folded into the journal yet (this node).
    var pending: [String: Int] = [:]
    var pendingFirst = 0, pendingLast = 0

    static func read(store: ConfigurationEditor, journal: String) -> LostRecords {
        var lost = LostRecords()
        lost.rows = store.lostRecords().map { ($0.node, $0.what, $0.count, $0.first, $0.last) }
        for (at, what) in LostCounter(journalPath: journal).read(take: false) {
            lost.pending[what, default: 0] += 1
            lost.pendingFirst = lost.pendingFirst == 0 ? at : min(lost.pendingFirst, at)
            lost.pendingLast = max(lost.pendingLast, at)
        }
        return lost
    }

    /// Records of fetches that could not be written: each answered request is one fetch.
    var total: Int { rows.reduce(0) { $0 + $1.count } + pending.values.reduce(0, +) }

    /// A warning naming the counts, or nil when nothing was lost.
    var finding: Check.Finding? {
        guard total > 0 else { return nil }
        var kinds: [String: Int] = pending
        for row in rows { kinds[row.what, default: 0] += row.count }
        let firsts = rows.map(\.first) + (pendingFirst > 0 ? [pendingFirst] : [])
        let lasts = rows.map(\.last) + (pendingLast > 0 ? [pendingLast] : [])
        let byKind = kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let pendingCount = pending.values.reduce(0, +)
        var message = "\(total) record(s) could not be recorded (\(byKind)) between \(Self.time(firsts.min() ?? 0)) and \(Self.time(lasts.max() ?? 0))"
        if pendingCount > 0 { message += "; \(pendingCount) counted in /dev/shm, not yet folded into the journal" }
        message += "; the phones were served"
        return Check.Finding(severity: "warning", location: "journal", message: message)
    }

    var json: JSON {
        .sorted(["total": .int(total),
                 "journal": .array(rows.map { .sorted(["node": .string($0.node), "what": .string($0.what), "count": .int($0.count),
                                                       "first": .int($0.first), "last": .int($0.last)]) }),
                 "pending": .sorted(pending.mapValues(JSON.int))])
    }

    static func time(_ seconds: Int) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

/// The rule a value broke, for a finding.
func ruleText(_ error: any Error) -> String { (error as? RuleViolation)?.rule ?? "\(error)" }
