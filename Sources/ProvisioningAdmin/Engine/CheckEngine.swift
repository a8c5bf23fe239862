public import Provisioning

/// One thing `check` found: how bad it is, what kind of check found it, where, and what is wrong.
public struct CheckFinding: Sendable, Equatable {
    public enum Severity: String, Sendable {
        /// Something a phone or the web server will trip on: `check` exits 5.
        case problem
        /// Worth a look; nothing fails because of it.
        case warning
    }

    /// What was checked, one name per kind of finding (what an API filters on; provctl prints the message).
    public enum Code: String, Sendable, CaseIterable {
        /// A device whose profile cannot be rendered, or whose values resolved from {{variables}} break a rule.
        case deviceProfile = "device-profile"
        /// A stored setting breaks its parameter's rule.
        case settingRule = "setting-rule"
        /// A stored setting the rule accepts with a warning (an unknown parameter name, ...).
        case settingWarning = "setting-warning"
        /// A setting or variable stored for a device that does not exist.
        case notADevice = "not-a-device"
        /// An empty value stored before schema 9: what it means was not recorded.
        case emptyIntentUnknown = "empty-intent-unknown"
        /// A variable's name or value breaks the variables' rule.
        case variableRule = "variable-rule"
        /// The web server's user lacks an access profile-cgi needs, or has one it must not.
        case access
        /// The web server's user does not exist here: access was not checked.
        case noWebUser = "no-web-user"
        /// No journal yet.
        case noJournal = "no-journal"
        /// Records serving could not write (`LostRecords`).
        case lostRecords = "lost-records"
    }

    public var severity: Severity
    public var code: Code
    /// Where: `device:<mac>`, `<scope> <name>`, `<scope> {{name}}`, a path, `--web-user`, `journal`.
    public var subject: String
    /// What is wrong, and for an access problem the command that fixes it. Secrets as the disclosure allows.
    public var message: String

    public init(_ severity: Severity, _ code: Code, subject: String, message: String) {
        self.severity = severity
        self.code = code
        self.subject = subject
        self.message = message
    }
}

/// Everything `check` found, in the order it checked: devices, settings, variables, access, journal.
public struct CheckReport: Sendable {
    /// The devices rendered (0 with `permissionsOnly`).
    public var devices = 0
    public var findings: [CheckFinding] = []
    /// What serving could not record.
    public var lost = LostRecords()

    public var problems: Int { findings.filter { $0.severity == .problem }.count }
    public var warnings: Int { findings.count - problems }

    /// As `provctl check --json` prints it.
    public var json: JSON {
        .sorted(["devices": .int(devices), "problems": .int(problems), "warnings": .int(warnings),
                 "findings": .array(findings.map { .sorted(["severity": .string($0.severity.rawValue),
                                                            "where": .string($0.subject),
                                                            "message": .string($0.message)]) }),
                 "lost": lost.json])
    }
}

/// Validates everything stored and what profile-cgi needs of the machine: every device rendered (an undefined
/// {{variable}} or a loop makes profile-cgi answer 500) and its {{variable}}-resolved values checked; each setting
/// against its parameter's rule, each variable's name and value; settings of devices that do not exist; the web
/// server's user's access to the database, the journal and their folders; records serving could not write.
public struct CheckEngine {
    public let store: ConfigurationEditor
    /// The configuration database's path and this node's journal.
    public let databasePath: String
    public let journalPath: String
    public let disclosure: Disclosure

    public init(store: ConfigurationEditor, databasePath: String, journalPath: String, disclosure: Disclosure = Disclosure()) {
        self.store = store
        self.databasePath = databasePath
        self.journalPath = journalPath
        self.disclosure = disclosure
    }

    /// Runs the checks. `webUser` is the user the web server runs profile-cgi as; `permissionsOnly` skips the
    /// devices, settings and variables.
    public func run(webUser: String, permissionsOnly: Bool = false) throws -> CheckReport {
        var report = CheckReport()
        if !permissionsOnly {
            try checkStored(into: &report)
        }
        if let user = WebUser(name: webUser) {
            for finding in accessFindings(user: user, database: databasePath, journal: journalPath) {
                report.findings.append(CheckFinding(.problem, .access, subject: finding.path,
                                                    message: finding.problem + "; fix: " + finding.fix))
            }
        } else {
            report.findings.append(CheckFinding(.warning, .noWebUser, subject: "--web-user",
                                                message: "no user \(webUser) on this machine: access not checked"))
        }
        if !fileExists(journalPath) {
            report.findings.append(CheckFinding(.warning, .noJournal, subject: journalPath,
                                                message: "no journal yet: profile-cgi creates it at its first answer (then seen, claims and fetches are kept)"))
        }
        report.lost = LostRecords.read(store: store, journal: journalPath)
        if let finding = report.lost.finding { report.findings.append(finding) }
        return report
    }

    /// Devices rendered, settings and variables against their rules.
    func checkStored(into report: inout CheckReport) throws {
        var deviceMACs: Set<String> = []
        let renderer = try ProfileRenderer(store: store, cachesSharedLayers: true)
        try renderer.forEachDevice { device in
            report.devices += 1
            deviceMACs.insert(device.mac.hex)
            for problem in deviceProblems(renderer, device, disclosure: disclosure) {
                report.findings.append(CheckFinding(.problem, .deviceProfile, subject: "device:\(device.mac)", message: problem))
            }
        }
        for setting in try store.settings() {
            let subject = "\(setting.scope) \(setting.name)"
            do {
                let checked = try ParameterRules.check(name: setting.name, value: setting.value)
                for warning in checked.warnings {
                    report.findings.append(CheckFinding(.warning, .settingWarning, subject: subject, message: warning))
                }
            } catch {
                report.findings.append(CheckFinding(.problem, .settingRule, subject: subject,
                                                    message: "\"\(disclosure.shown(name: setting.name, value: setting.value))\": \(ruleText(error))"))
            }
            if case .device(let mac) = setting.scope, !deviceMACs.contains(mac.hex) {
                report.findings.append(CheckFinding(.warning, .notADevice, subject: subject, message: "\(mac) is not a device"))
            }
            if setting.value.isEmpty && setting.intent == nil {
                report.findings.append(CheckFinding(
                    .warning, .emptyIntentUnknown,
                    subject: subject + (setting.partition.isEmpty ? "" : " (partition \(setting.partition))"),
                    message: "empty value stored before schema 9: intent unknown, served <\(setting.name)/> (leave the phone's value); "
                        + "settle it: provctl settle-empty --as empty|leave"))
            }
        }
        for variable in try store.variables() {
            let subject = "\(variable.scope) {{\(variable.name)}}"
            do {
                try ParameterRules.checkVariable(name: variable.name, value: variable.value)
            } catch {
                report.findings.append(CheckFinding(.problem, .variableRule, subject: subject, message: ruleText(error)))
            }
            if case .device(let mac) = variable.scope, !deviceMACs.contains(mac.hex) {
                report.findings.append(CheckFinding(.warning, .notADevice, subject: subject, message: "\(mac) is not a device"))
            }
        }
    }
}

/// The rule a value broke, for a finding.
public func ruleText(_ error: any Error) -> String { (error as? RuleViolation)?.rule ?? "\(error)" }

/// What serving could not record (a full or read-only disk, a journal locked past the wait, a killed process): the
/// `lost` rows of every journal (the `lost` view over them, folded in by the next write that got through) plus the
/// lines still waiting in this node's `LostCounter` file in /dev/shm.
public struct LostRecords: Sendable {
    /// Per (node, kind): count, first and last time (Unix seconds).
    public var rows: [LostRecordRow] = []
    /// Per kind, the lines not folded into the journal yet (this node).
    public var pending: [String: Int] = [:]
    public var pendingFirst = 0, pendingLast = 0

    public init() {}

    public static func read(store: ConfigurationEditor, journal: String) -> LostRecords {
        var lost = LostRecords()
        lost.rows = store.lostRecords()
        for (at, what) in LostCounter(journalPath: journal).read(take: false) {
            lost.pending[what, default: 0] += 1
            lost.pendingFirst = lost.pendingFirst == 0 ? at : min(lost.pendingFirst, at)
            lost.pendingLast = max(lost.pendingLast, at)
        }
        return lost
    }

    /// Records of fetches that could not be written: each answered request is one fetch.
    public var total: Int { rows.reduce(0) { $0 + $1.count } + pending.values.reduce(0, +) }

    /// A warning naming the counts, or nil when nothing was lost.
    public var finding: CheckFinding? {
        guard total > 0 else { return nil }
        var kinds: [String: Int] = pending
        for row in rows { kinds[row.what, default: 0] += row.count }
        let firsts = rows.map(\.first) + (pendingFirst > 0 ? [pendingFirst] : [])
        let lasts = rows.map(\.last) + (pendingLast > 0 ? [pendingLast] : [])
        let byKind = kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let pendingCount = pending.values.reduce(0, +)
        var message = "\(total) record(s) could not be recorded (\(byKind)) between \(utcTimestamp(firsts.min() ?? 0)) and \(utcTimestamp(lasts.max() ?? 0))"
        if pendingCount > 0 { message += "; \(pendingCount) counted in /dev/shm, not yet folded into the journal" }
        message += "; the phones were served"
        return CheckFinding(.warning, .lostRecords, subject: "journal", message: message)
    }

    public var json: JSON {
        .sorted(["total": .int(total),
                 "journal": .array(rows.map { .sorted(["node": .string($0.node), "what": .string($0.what), "count": .int($0.count),
                                                       "first": .int($0.first), "last": .int($0.last)]) }),
                 "pending": .sorted(pending.mapValues(JSON.int))])
    }
}
