import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// `provctl campaign`: firmware campaigns, run by the admin daemon as jobs of kind `campaign` (their state in its
/// jobs.db); the same engine as /api/v1/campaigns, so both print the same JSON.
struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Firmware campaigns: start, status, pause, resume, abort, rollback (run by the admin daemon).",
        discussion: """
            A campaign gives the selected enabled devices an Upgrade_Rule at their device scope, wave by wave: the \
            canary first (--canary MACs or --canary-group), then the rest by a stable hash of the MAC (--waves, \
            cumulative percentages). Each wave is one change set in the history (by campaign:ID by USER, revertable) \
            and is pushed paced (SIP NOTIFY, as provctl resync). A device succeeds when a proven fetch after its wave \
            started shows --firmware in its User-Agent (and its syslog, imported with provctl syslog, logged no \
            "Upgrade failed"); it fails on such a line or without that fetch within --window seconds. A wave starts \
            only when the previous one reached --success-threshold percent; the campaign halts itself when more than \
            --failure-threshold percent of a wave failed. provisioner-admind runs it (one campaign at a time) and \
            keeps its state in jobs.db in its state folder (--state-dir here): a campaign goes on after a restart. \
            See docs/campaigns.md.
            Examples: provctl campaign start --model CP-8841-3PCC --rule 'http://fw.example.com/sip88xx.14-3-1MPP0101-23.loads' \\
                          --firmware sip88xx.14-3-1MPP0101-23 --canary-group lab --waves 10,50,100 --dry-run
                      provctl campaign status 3
                      provctl campaign pause 3
                      provctl campaign rollback 3
            """,
        subcommands: [CampaignStart.self, CampaignStatus.self, CampaignAct<PauseAction>.self, CampaignAct<ResumeAction>.self,
                      CampaignAct<AbortAction>.self, CampaignAct<RollbackAction>.self]
    )
}

struct CampaignStart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a campaign (or --dry-run: print its waves).")

    @OptionGroup var store: StoreOptions
    @OptionGroup var place: JobStateOptions
    @Option(help: "Only devices of this model.") var model: String?
    @Option(help: "Only devices of this group.") var group: String?
    @Option(name: .customLong("mac"), help: ArgumentHelp("Only these devices (repeatable).", valueName: "mac")) var macs: [String] = []
    @Option(help: ArgumentHelp("Only devices whose last fetch showed this firmware.", valueName: "firmware")) var fromFirmware: String?
    @Flag(help: "Every enabled device (with nothing else named).") var all = false
    @Option(help: ArgumentHelp("The Upgrade_Rule the devices get.", valueName: "rule")) var rule: String
    @Option(help: ArgumentHelp("The firmware a proven fetch's User-Agent must then show (exactly).", valueName: "version"))
    var firmware: String
    @Option(name: .customLong("canary"), help: ArgumentHelp("A canary device, first of all (repeatable).", valueName: "mac"))
    var canary: [String] = []
    @Option(help: ArgumentHelp("The canary: the selected devices of this group.", valueName: "group")) var canaryGroup: String?
    @Option(help: ArgumentHelp("Cumulative percentages of the rest, increasing, ending at 100.", valueName: "list")) var waves = "10,50,100"
    @Option(help: ArgumentHelp("Seconds a device has from its wave's start.", valueName: "seconds")) var window = 3600
    @Option(help: ArgumentHelp("Percent of a wave that must succeed before the next starts.", valueName: "percent"))
    var successThreshold = 90
    @Option(help: ArgumentHelp("Percent of a wave whose failure halts the campaign (more than this).", valueName: "percent"))
    var failureThreshold = 10
    @Option(help: "Devices per second of the paced push (1..100).") var rate = 10
    @Option(help: "The NOTIFY's event: resync or check-sync.") var event = "resync"
    @Flag(help: "Print the waves it would make; write and queue nothing.") var dryRun = false
    @Flag(help: "Print JSON (for scripts): the API's campaign (or preview).") var json = false

    func spec() throws -> CampaignSpec {
        let percents = waves.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard percents.allSatisfy({ $0 != nil }) else {
            throw Failure(.usage, "--waves: \"\(waves)\" must be percentages separated by commas (10,50,100)", field: "waves",
                          rule: "increasing percentages ending at 100")
        }
        let selection = CampaignSelection(macs: macs.isEmpty ? nil : try macs.map { try parseMAC($0) }, group: group, model: model,
                                          firmware: fromFirmware, all: all)
        return CampaignSpec(selection: selection, upgradeRule: rule, firmware: firmware, canaryMACs: try canary.map { try parseMAC($0) },
                            canaryGroup: canaryGroup, waves: percents.compactMap { $0 }, window: window,
                            successThreshold: successThreshold, failureThreshold: failureThreshold, rate: rate, event: event)
    }

    func run() throws {
        let spec = try spec()
        let opened = try store.open()
        let planned = try CampaignJob.plan(spec, in: opened, session: AdminSession.provctl())
        if dryRun {
            var lines = ["dry run: \(planned.reduce(0) { $0 + $1.macs.count }) device(s) in \(planned.count) wave(s); nothing queued"]
            for wave in planned {
                lines.append("  \(wave.name)\(wave.percent.map { " (\($0)%)" } ?? ""): \(wave.macs.count) device(s)")
            }
            Output.emit(ValueResult(json: CampaignStore.preview(planned, spec: spec), text: lines.joined(separator: "\n")), json: json)
            return
        }
        let record = try CampaignJob.start(spec, waves: planned, who: currentUser(), startedBy: currentUser(),
                                           jobs: try place.existing(store))
        Output.emit(ValueResult(json: record.json, text: "campaign \(record.id): \(record.counts.devices) device(s) in "
                                + "\(record.waves.count) wave(s) queued (provctl campaign status \(record.id))"), json: json)
    }
}

extension CampaignRecord {
    var text: String {
        let total = counts
        var lines = ["campaign \(id): \(state.rawValue)" + (requested.map { " (\($0.rawValue) asked by \(requestedBy ?? "?"))" } ?? ""),
                     "firmware: \(spec.firmware) (rule \(Secrets.maskRule(spec.upgradeRule)))",
                     "devices: \(total.devices) (\(total.succeeded) succeeded, \(total.failed) failed, "
                         + "\(total.waiting - notStarted) waiting, \(notStarted) not started)",
                     "started by: \(job.startedBy) at \(job.createdAt); job \(job.id) \(job.state.rawValue)"]
        if let reason { lines.append("reason: \(reason)") }
        for wave in waves {
            lines.append("  \(wave.name)\(wave.percent.map { " (\($0)%)" } ?? ""): \(wave.state), \(wave.counts.devices) device(s), "
                         + "\(wave.counts.succeeded) succeeded, \(wave.counts.failed) failed"
                         + (wave.changeSet.map { ", change set #\($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}

struct CampaignStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "One campaign with its waves and a page of its devices, or (no ID) the campaigns.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var place: JobStateOptions
    @Argument(help: "The campaign's id (none: list the campaigns).") var id: String?
    @Option(help: "At most this many devices (or campaigns), 1..1000.") var limit = 100
    @Option(help: "The page after this cursor (the next_after of the previous page).") var after: String?
    @Option(help: "Only devices with this outcome: not_started, waiting, succeeded, failed.") var outcome: String?
    @Option(help: "Only devices of this wave (0 is the canary when there is one).") var wave: Int?
    @Flag(help: "Print JSON (for scripts): the API's campaign (or page of campaigns).") var json = false

    func validate() throws {
        if !(1...1000).contains(limit) { throw ValidationError("--limit: \(limit) must be 1..1000") }
        if let outcome, !["not_started", "waiting", "succeeded", "failed"].contains(outcome) {
            throw ValidationError("--outcome: \"\(outcome)\" must be one of not_started, waiting, succeeded, failed")
        }
    }

    func run() throws {
        let jobs = place.jobs(store)
        let campaigns = CampaignStore(jobs: jobs)
        guard let id else {
            let page: (campaigns: [CampaignRecord], next: Int?) = FileManager.default.fileExists(atPath: jobs.path)
                ? try campaigns.campaigns(after: after.flatMap(Int.init), limit: limit) : ([], nil)
            var table = Table("ID", "STATE", "FIRMWARE", "DEVICES", "SUCCEEDED", "FAILED", "STARTED BY", "CREATED")
            for campaign in page.campaigns {
                let counts = campaign.counts
                table.append([String(campaign.id), campaign.state.rawValue, campaign.spec.firmware, String(counts.devices),
                              String(counts.succeeded), String(counts.failed), campaign.job.startedBy, campaign.job.createdAt])
            }
            Output.emit(ListResult(table: table, page: CampaignStore.page(page.campaigns, next: page.next)), json: json)
            return
        }
        let existing = try CampaignStore(jobs: place.existing(store))
        let campaign = try existing.campaign(named: id)
        let page = try existing.devices(of: campaign.id, after: after, limit: limit, outcome: outcome, wave: wave)
        var text = campaign.text
        for device in page.devices where device.outcome == "failed" {
            text += "\n  failed \(device.mac): \(device.detail)"
        }
        Output.emit(ValueResult(json: CampaignStore.detail(campaign, devices: page.devices, next: page.next), text: text), json: json)
    }
}

/// The four actions, one subcommand each.
protocol CampaignActionName { static var action: CampaignState.Action { get } }
enum PauseAction: CampaignActionName { static let action = CampaignState.Action.pause }
enum ResumeAction: CampaignActionName { static let action = CampaignState.Action.resume }
enum AbortAction: CampaignActionName { static let action = CampaignState.Action.abort }
enum RollbackAction: CampaignActionName { static let action = CampaignState.Action.rollback }

struct CampaignAct<Name: CampaignActionName>: ParsableCommand {
    static var configuration: CommandConfiguration {
        let abstract = switch Name.action {
        case .pause: "Pause a running campaign: nothing new is pushed, the wave's window stands still."
        case .resume: "Resume a paused or halted campaign (a halted wave then counts as passed)."
        case .abort: "Abort a campaign: it stops; the rules already given stay."
        case .rollback: "Roll a campaign back: its change sets reverted, the devices pushed (also after done or aborted)."
        }
        return CommandConfiguration(commandName: Name.action.rawValue, abstract: abstract)
    }

    @OptionGroup var store: StoreOptions
    @OptionGroup var place: JobStateOptions
    @Argument(help: "The campaign's id.") var id: String
    @Flag(help: "Print JSON (for scripts): the API's campaign.") var json = false

    func run() throws {
        let campaigns = CampaignStore(jobs: try place.existing(store))
        let record = try campaigns.request(try campaigns.campaign(named: id).id, Name.action, by: currentUser())
        Output.emit(ValueResult(json: record.json, text: "campaign \(record.id): \(Name.action.rawValue) asked; the daemon takes it within a second"),
                    json: json)
    }
}
