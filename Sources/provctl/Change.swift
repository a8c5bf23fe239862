import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// `--dry-run`, `--diff` and `--force`, for every command that changes the database.
struct DryRunOption: ParsableArguments {
    @Flag(help: "Show what would change, grouped by identical change (--diff: every device's diff); write nothing.")
    var dryRun = false
    @Flag(help: "With --dry-run: print every changed device's full diff of its rendered profile.")
    var diff = false
    @Flag(help: "Write even when devices that render today would no longer render (their phones would get 500).")
    var force = false
    @Flag(help: "Accept a new model or group name though it differs from a known one only by case, or is one step from a Cisco product.")
    var newName = false
}

extension DryRunOption {
    /// The engine's mode for these flags.
    var mode: ChangeMode { ChangeMode(dryRun: dryRun, force: force, showDiff: diff) }
}

/// provctl's side of a change: runs it in the engine (`ChangeEngine`) and prints a dry run's report, which ends
/// the command with its documented status (`DryRunReport.failure`).
struct ChangeRunner {
    let store: ConfigurationEditor
    let output: OutputOptions
    var mode: ChangeMode

    init(store: ConfigurationEditor, output: OutputOptions, dryRun: Bool) {
        self.store = store
        self.output = output
        self.mode = ChangeMode(dryRun: dryRun)
    }

    init(store: ConfigurationEditor, output: OutputOptions, change: DryRunOption) {
        self.store = store
        self.output = output
        self.mode = change.mode
    }

    /// Runs `body`; `reach` names the devices whose profile may change. Returns the audit ids when the change was
    /// written; a dry run prints its report and throws.
    @discardableResult
    func run(reach: () throws -> Reach, _ body: (AuditRecorder) throws -> Void) throws -> [Int] {
        let engine = ChangeEngine(store: store, session: .provctl(showSecrets: output.showSecrets), mode: mode)
        return try written(engine.run(reach: reach, body), json: output.json)
    }
}

/// The audit ids of a written change (its change set noted for the result); a dry run's report printed, then
/// its failure thrown.
func written(_ outcome: ChangeOutcome, json: Bool) throws -> [Int] {
    switch outcome {
    case .dryRun(let report):
        Output.emit(DryRunResult(report: report), json: json)
        throw report.failure
    case .written(let ids, let changeSet):
        ChangeResult.changeSet = changeSet
        return ids
    }
}

/// A dry run's report as provctl prints it.
struct DryRunResult: CommandResult {
    var report: DryRunReport
    var json: JSON { report.json }
    var text: String { report.text }
}

/// Why a device's profile cannot be served as it should (`deviceProblems` of the engine), secrets as `output` shows them.
func deviceProblems(_ renderer: ProfileRenderer, _ device: Device, output: OutputOptions) -> [String] {
    deviceProblems(renderer, device, disclosure: output.disclosure)
}

/// Why a profile could not be rendered, in one line without secrets (`renderProblem` of the engine).
extension ChangeResult {
    /// An engine's summary as provctl prints it.
    init(_ summary: EditSummary) {
        self.init(action: summary.action, message: summary.message, count: summary.count, fields: summary.fields)
    }
}

/// Prints what an engine's change came to: its summary (the change set named), or a dry run's report, which then
/// ends the command with its documented status.
func emit(_ edited: Edited<EditSummary>, json: Bool) throws {
    switch edited {
    case .dryRun(let report):
        Output.emit(DryRunResult(report: report), json: json)
        throw report.failure
    case .written(let summary):
        ChangeResult.changeSet = summary.changeSet
        Output.emit(ChangeResult(summary), json: json)
    }
}

extension SettingsEditor {
    /// The editor for a provctl command: its session, its --dry-run/--diff/--force.
    init(store: ConfigurationEditor, output: OutputOptions, change: DryRunOption? = nil) {
        self.init(store: store, session: .provctl(showSecrets: output.showSecrets), mode: change?.mode ?? ChangeMode())
    }
}
