import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate everything stored, and find devices whose profile cannot be rendered.",
        discussion: """
            Checks each setting against its rule and each variable's name and value; renders every device's \
            parameters (an undefined {{variable}} or a loop makes profile-cgi answer 500) and checks the rules \
            again on values resolved from {{variables}}. Unknown parameter names and settings of devices that do \
            not exist are warnings. Exit status 5 when there is a problem.
            Example: provctl check --json
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

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
        try renderer.forEachDevice { device in
            devices += 1
            deviceMACs.insert(device.mac.hex)
            let parameters: [ResolvedParameter]
            do {
                parameters = try renderer.parameters(for: device)
            } catch {
                findings.append(Finding(severity: "problem", location: "device:\(device.mac)",
                                        message: "cannot render: \(provctlRenderProblem(error))"))
                return
            }
            for parameter in parameters where ParameterRules.holdsVariables(parameter.template) {
                var stored = parameter.value, warnings: [String] = []
                do {
                    try ParameterRules.checkTyped(name: parameter.name, value: parameter.value, stored: &stored, warnings: &warnings)
                } catch {
                    let shown = output.shown(name: parameter.name, value: parameter.value)
                    let message = "\(parameter.name) from \(parameter.scope) resolves to \"\(shown)\": \(ruleText(error))"
                    findings.append(Finding(severity: "problem", location: "device:\(device.mac)", message: message))
                }
            }
        }
        for setting in try opened.settings() {
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
        for variable in try opened.variables() {
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
        if problems > 0 { throw Failure(.problems, "check: \(problems) problem(s)") }
    }
}

/// The rule a value broke, for a finding.
func ruleText(_ error: any Error) -> String { (error as? RuleViolation)?.rule ?? "\(error)" }
