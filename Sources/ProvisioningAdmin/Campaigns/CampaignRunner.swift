import Foundation
public import Provisioning

/// Starting a campaign: the spec checked, its devices and waves planned from the configuration.
public enum CampaignJob {
    /// The waves `spec` makes over the enabled devices it selects; every refusal names its field and rule.
    public static func plan(_ spec: CampaignSpec, in store: ConfigurationEditor, session: AdminSession) throws -> [WavePlanner.Wave] {
        try spec.validate(session: session)
        let devices = try spec.selection.deviceSelection.devices(in: store)
        guard !devices.isEmpty else {
            throw AdminError(.usage, "selection: no enabled device matches", field: "selection", rule: "at least one enabled device")
        }
        let selected = Set(devices.map(\.mac))
        var canary: [MACAddress] = []
        for mac in spec.canaryMACs {
            guard selected.contains(mac) else {
                throw AdminError(.usage, "canary.macs: \(mac) is not an enabled device of the selection", field: "canary.macs",
                                 rule: "within the selection")
            }
            canary.append(mac)
        }
        if let group = spec.canaryGroup {
            canary = devices.filter { $0.group == group }.map(\.mac)
            guard !canary.isEmpty else {
                throw AdminError(.usage, "canary.group: no enabled device of the selection is in group \(group)", field: "canary.group",
                                 rule: "within the selection")
            }
        }
        return WavePlanner.plan(devices.map(\.mac), canary: canary, percents: spec.waves)
    }

    /// Queues the campaign (the daemon's runner runs it): `.conflict` while another campaign holds its job.
    public static func start(_ spec: CampaignSpec, waves: [WavePlanner.Wave], who: String, startedBy: String,
                             jobs: JobStore) throws -> CampaignRecord {
        try CampaignStore(jobs: jobs).create(spec, waves: waves, who: who, startedBy: startedBy)
    }
}

/// Runs a campaign's job (`JobWorker`): wave after wave, each given the rule through the change engine and pushed
/// paced, then judged from the journals every `tick` until it passes or the campaign halts; between steps it takes
/// an admin's pause, resume, abort or rollback. Its state is in `jobs.db` after every step: when the daemon stops,
/// the job goes back to the queue and the next run goes on where this one stood (a wave's window counts on from its
/// start, pushes already made are not made again).
struct CampaignRunner {
    let worker: JobWorker
    let job: JobRecord
    var tick: TimeInterval = 0.25

    var campaigns: CampaignStore { CampaignStore(jobs: worker.jobs) }
    var id: Int { job.id }

    /// Runs until the campaign ends (the job's final state) or the daemon stops (nil: the job is queued again).
    /// A failure (the database unreadable, a change refused) halts the campaign with the reason and fails the job;
    /// an admin's resume, abort or rollback queues the job again.
    func run(stopping: @Sendable () -> Bool) throws -> JobRecord.State? {
        do {
            return try steps(stopping: stopping)
        } catch {
            let line = String("\(error)".prefix { $0 != "\n" }.prefix(400))
            if let campaign = try? campaigns.campaign(id), !campaign.state.isFinal {
                try? campaigns.set(id, state: .halted, reason: "halted: the campaign's job failed: \(line)", clearing: true)
            }
            throw error
        }
    }

    func steps(stopping: @Sendable () -> Bool) throws -> JobRecord.State? {
        while true {
            if stopping() { return nil }
            var campaign = try campaigns.campaign(id)
            if try worker.jobs.cancelRequested(id), campaign.requested == nil, !campaign.state.isFinal {
                // A job cancel (POST /api/v1/jobs/ID/cancel) is an abort.
                try campaigns.set(id, state: .aborted, reason: "aborted: the job was cancelled", clearing: true)
                return .cancelled
            }
            if let action = campaign.requested {
                if let ended = try take(action, campaign, stopping: stopping) { return ended }
                campaign = try campaigns.campaign(id)
            }
            switch campaign.state {
            case .done, .rolledBack: return .done
            case .aborted: return .cancelled
            case .paused, .halted:
                Thread.sleep(forTimeInterval: tick)
            case .running:
                if let ended = try step(campaign, stopping: stopping) { return ended }
            }
        }
    }

    /// Takes an admin's action; returns the job's final state when it ends the campaign.
    func take(_ action: CampaignState.Action, _ campaign: CampaignRecord, stopping: @Sendable () -> Bool) throws -> JobRecord.State? {
        let now = Clock.unixMicroseconds()
        let who = campaign.requestedBy ?? job.startedBy
        guard (try? campaign.state.after(action)) != nil else {
            try campaigns.clearRequest(id)
            return nil
        }
        switch action {
        case .pause:
            try campaigns.set(id, state: .paused, reason: "paused by \(who)", clearing: true, pausedAt: now)
        case .resume:
            if campaign.state == .paused, let paused = campaign.pausedAt, let wave = campaign.wave,
               campaign.waves[wave].state == "running" {
                try campaigns.extendDeadline(id, wave: wave, by: now - paused)
            }
            if campaign.state == .halted, let wave = campaign.wave, campaign.waves[wave].state == "halted" {
                // Resumed past a halt: the halted wave counts as passed, the next one starts.
                try campaigns.endWave(id, wave: wave, state: "passed", at: now)
            }
            try campaigns.set(id, state: .running, reason: "resumed by \(who)", clearing: true)
        case .abort:
            try campaigns.set(id, state: .aborted, reason: "aborted by \(who)", clearing: true)
            return .cancelled
        case .rollback:
            try rollBack(campaign, by: who, stopping: stopping)
            return .done
        }
        return nil
    }

    /// One step of a running campaign: start the next wave, or judge the current one.
    func step(_ campaign: CampaignRecord, stopping: @Sendable () -> Bool) throws -> JobRecord.State? {
        let current = campaign.wave.map { campaign.waves[$0] }
        if current == nil || current?.state == "passed" {
            let next = (campaign.wave ?? -1) + 1
            guard next < campaign.waves.count else {
                try campaigns.set(id, state: .done, reason: "every wave passed")
                return .done
            }
            try startWave(next, campaign)
            return nil
        }
        guard let current else { return nil }
        if current.state == "running" {
            // Devices of a wave whose push was cut short (the daemon stopped) are pushed first.
            let devices = try campaigns.devices(of: id, wave: current.index)
            let unpushed = devices.filter { $0.pushed == nil }.compactMap { MACAddress($0.mac) }
            if !unpushed.isEmpty {
                // An admin's action (pause, abort, rollback) is taken between batches; the rest is pushed on resume.
                try push(unpushed, campaign.spec, stopping: { stopping() || ((try? campaigns.actionWaits(id)) ?? false) }) { mac, text in
                    try campaigns.setPushed(id, mac: mac.hex, text)
                }
                return nil
            }
            try judge(current, campaign)
        }
        Thread.sleep(forTimeInterval: tick)
        return nil
    }

    /// Gives the wave's devices the rule (one change set by `campaign:ID by WHO`), then pushes them.
    func startWave(_ index: Int, _ campaign: CampaignRecord) throws {
        let macs = try campaigns.devices(of: id, wave: index).compactMap { MACAddress($0.mac) }
        let started = Clock.unixMicroseconds()
        var changeSet: Int?
        if !macs.isEmpty {
            let store = try worker.openStore()
            let session = AdminSession(who: campaign.who)
            let rule = campaign.spec.upgradeRule
            let engine = ChangeEngine(store: store, session: session, mode: ChangeMode())
            let outcome = try engine.run(reach: { .some(Set(macs)) }) { audit in
                for mac in macs {
                    let scope = Scope.device(mac)
                    let old = try store.setting(scope: scope, name: "Upgrade_Rule", partition: "")
                    let new = Setting(scope: scope, name: "Upgrade_Rule", value: rule, access: old?.access)
                    guard new != old else { continue }
                    try store.set(new)
                    try audit.record("set", target: "\(scope) Upgrade_Rule", old: auditValue(old), new: auditValue(new))
                }
            }
            if case .written(_, let set) = outcome { changeSet = set }
        }
        try campaigns.startWave(id, wave: index, changeSet: changeSet, startedAt: started,
                                deadline: started + campaign.spec.window * 1_000_000)
    }

    /// The paced push of `provctl resync` to `macs`, in batches of one second's worth; `each` gets every phone's
    /// outcome as text. A device that is no longer one is recorded as skipped.
    func push(_ macs: [MACAddress], _ spec: CampaignSpec, stopping: () -> Bool,
              each: (MACAddress, String) throws -> Void) throws {
        let options = ResyncOptions(via: .sip, event: spec.event, rate: Double(spec.rate))
        let store = try worker.openStore()
        var devices: [Device] = []
        for mac in macs {
            if let device = try store.device(mac: mac) { devices.append(device) } else { try each(mac, "skipped: no longer a device") }
        }
        let plans = try ResyncEngine.plan(devices, store: store, options: options)
        var index = plans.startIndex
        var failure: (any Error)?
        while index < plans.endIndex {
            if stopping() { return }
            let chunk = Array(plans[index..<min(index + spec.rate, plans.endIndex)])
            index += chunk.count
            let started = Date()
            _ = ResyncEngine.push(chunk, options: options) { result in
                guard failure == nil else { return }
                do {
                    try each(result.outcome.mac, "\(result.kind.rawValue): \(result.outcome.detail)")
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            let due = Double(chunk.count) / options.rate - Date().timeIntervalSince(started)
            if due > 0, index < plans.endIndex { Thread.sleep(forTimeInterval: due) }
        }
    }

    /// Judges the running wave's waiting devices from the journals, records the outcomes (and the job's items), and
    /// passes the wave or halts the campaign.
    func judge(_ wave: CampaignRecord.Wave, _ campaign: CampaignRecord) throws {
        let now = Clock.unixMicroseconds()
        let spec = campaign.spec
        let started = wave.startedAt ?? now
        let expired = now >= (wave.deadline ?? now)
        let devices = try campaigns.devices(of: id, wave: wave.index)
        let waiting = devices.filter { $0.outcome == "waiting" }
        if !waiting.isEmpty {
            let store = try worker.openStore()
            var items: [JobItem] = []
            for device in waiting {
                let (fetches, lines) = try Self.evidence(device.mac, since: started, in: store)
                let verdict = DeviceVerdict.judge(target: spec.firmware, fetches: fetches, upgradeLines: lines, expired: expired,
                                                  window: spec.window)
                switch verdict {
                case .waiting: continue
                case .succeeded(let detail):
                    try campaigns.setOutcome(id, mac: device.mac, outcome: "succeeded", detail: detail, at: now)
                    items.append(JobItem(target: device.mac, outcome: .ok, detail: "\(wave.name): \(detail)"))
                case .failed(let detail):
                    try campaigns.setOutcome(id, mac: device.mac, outcome: "failed", detail: detail, at: now)
                    items.append(JobItem(target: device.mac, outcome: .failed, detail: "\(wave.name): \(detail)"))
                }
            }
            try worker.jobs.record(items, job: id)
        }
        let judged = try campaigns.campaign(id).waves[wave.index]
        switch judged.counts.verdict(successThreshold: spec.successThreshold, failureThreshold: spec.failureThreshold) {
        case .wait: break
        case .pass: try campaigns.endWave(id, wave: wave.index, state: "passed", at: now)
        case .halt(let reason):
            try campaigns.endWave(id, wave: wave.index, state: "halted", at: now)
            try campaigns.set(id, state: .halted, reason: "halted in \(wave.name): \(reason)")
        }
    }

    /// The proven fetches (time, firmware) and the upgrade syslog lines (kind, message) of `mac` since `since`.
    static func evidence(_ mac: String, since: Int, in store: ConfigurationEditor) throws
        -> (fetches: [(at: Int, firmware: String?)], lines: [(kind: String, message: String)]) {
        guard !store.journal.attached.isEmpty else { return ([], []) }
        let fetches = try store.database.prepare("SELECT at, firmware FROM fetches WHERE mac = ?1 AND at >= ?2 AND trusted ORDER BY at, id")
        try fetches.bind([.text(mac), .integer(since)])
        var found: [(Int, String?)] = []
        while try fetches.step() { found.append((fetches.int(0), fetches.text(1))) }
        let log = try store.database.prepare("""
            SELECT kind, message FROM phone_log WHERE mac = ?1 AND at >= ?2 AND kind LIKE 'upgrade%' ORDER BY at, id
            """)
        try log.bind([.text(mac), .integer(since)])
        var lines: [(String, String)] = []
        while try log.step() { lines.append((log.text(0) ?? "", log.text(1) ?? "")) }
        return (found, lines)
    }

    /// Reverts the campaign's change sets (one change, newest first, by `campaign:ID by WHO`) and pushes the
    /// devices they touched, so the phones fetch their previous rule.
    func rollBack(_ campaign: CampaignRecord, by who: String, stopping: @Sendable () -> Bool) throws {
        let sets = campaign.waves.compactMap(\.changeSet)
        var macs: [MACAddress] = []
        var reverted: Int?
        if !sets.isEmpty {
            let store = try worker.openStore()
            let plan = try RevertJob.plan(sets, in: store)
            let session = AdminSession(who: "campaign:\(id) by \(who)")
            if case .written(let summary) = try ChangeEngine(store: store, session: session, mode: ChangeMode()).revert(plan) {
                reverted = summary.changeSet
            }
        }
        // The devices whose rule the campaign changed: those of its waves that have a change set.
        for wave in campaign.waves where wave.changeSet != nil {
            macs += try campaigns.devices(of: id, wave: wave.index).compactMap { MACAddress($0.mac) }
        }
        let now = Clock.unixMicroseconds()
        for wave in campaign.waves where wave.state == "running" {
            try campaigns.endWave(id, wave: wave.index, state: "halted", at: now)
        }
        try campaigns.set(id, state: .rolledBack, reason: "rolled back by \(who)" + (reverted.map { ": change set #\($0)" } ?? ""),
                          clearing: true)
        let pushed = Set(macs.map(\.hex))
        try push(macs, campaign.spec, stopping: stopping) { mac, text in
            guard pushed.contains(mac.hex) else { return }
            try campaigns.execute("UPDATE campaign_devices SET pushed = coalesce(pushed || '; ', '') || ?3 WHERE campaign_id = ?1 AND mac = ?2",
                                  [.integer(id), .text(mac.hex), .text("rollback " + text)])
        }
    }
}
