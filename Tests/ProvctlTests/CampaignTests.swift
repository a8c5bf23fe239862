import Foundation
import Provisioning
@testable import ProvisioningAdmin
import Testing

/// Firmware campaigns (issue 25 point 1): the wave hashing, the verdicts, and the state machine, without a daemon
/// (Tests/api/test_campaigns.py runs them end to end).
@Suite struct CampaignTests {
    func mac(_ text: String) -> MACAddress { MACAddress(text)! }

    @Test("the bucket is FNV-1a of the MAC's hex digits: the same on every machine and in any spelling")
    func stableBucket() {
        // Computed independently (Python: FNV-1a 64 over the 12 lower-case hex digits, mod 10000).
        #expect(WavePlanner.bucket(mac("000e08abcd01")) == 6845)
        #expect(WavePlanner.bucket(mac("000E08ABCD02")) == 2212)
        #expect(WavePlanner.bucket(mac("00:11:22:33:44:55")) == 9871)
        #expect(WavePlanner.bucket(mac("ffff.ffff.ffff")) == 3445)
    }

    @Test("waves: the canary first, every device once, each in the first wave its bucket reaches, sizes near the percentages")
    func wavePlan() {
        let macs = (0..<5000).map { MACAddress(String(format: "00562b%06x", $0))! }
        let canary = [macs[7], macs[3]]
        let waves = WavePlanner.plan(macs + [macs[0]], canary: canary, percents: [10, 50, 100])
        #expect(waves.map(\.name) == ["canary", "wave 1", "wave 2", "wave 3"])
        #expect(waves.map(\.percent) == [nil, 10, 50, 100])
        #expect(waves[0].macs == canary)
        let all = waves.flatMap(\.macs)
        #expect(all.count == macs.count && Set(all) == Set(macs))
        for (index, wave) in waves.dropFirst().enumerated() {
            let low = [0, 10, 50][index] * 100, high = wave.percent! * 100
            #expect(wave.macs.allSatisfy { (low..<high).contains(WavePlanner.bucket($0)) })
        }
        // 10% / 40% / 50% of 4998, within 2 points.
        #expect(abs(waves[1].macs.count - 500) < 100 && abs(waves[2].macs.count - 2000) < 100 && abs(waves[3].macs.count - 2500) < 100)
        // Stable: the same devices make the same waves, whatever order they come in.
        let again = WavePlanner.plan(macs.reversed(), canary: canary, percents: [10, 50, 100])
        #expect(again.map { Set($0.macs) } == waves.map { Set($0.macs) })
        // Without a canary, wave 1 is the first; an empty wave is kept so the numbers match the percentages.
        let small = WavePlanner.plan([mac("000e08abcd02")], canary: [], percents: [10, 50, 100])
        #expect(small.map(\.macs.count) == [0, 1, 0])
    }

    @Test("waves must be increasing percentages ending at 100")
    func waveRule() throws {
        try CampaignSpec.checkWaves([100])
        try CampaignSpec.checkWaves([10, 50, 100])
        for bad in [[], [50], [10, 10, 100], [50, 10, 100], [0, 100], [10, 101], Array(1...11).map { $0 * 9 + 1 }] {
            #expect(throws: AdminError.self) { try CampaignSpec.checkWaves(bad) }
            do { try CampaignSpec.checkWaves(bad) } catch { #expect(error.field == "waves" && error.rule == "increasing percentages ending at 100") }
        }
    }

    @Test("a wave passes, waits or halts by its thresholds")
    func verdicts() {
        func verdict(_ devices: Int, _ ok: Int, _ failed: Int, success: Int = 90, failure: Int = 10) -> WaveCounts.Verdict {
            WaveCounts(devices: devices, succeeded: ok, failed: failed).verdict(successThreshold: success, failureThreshold: failure)
        }
        #expect(verdict(0, 0, 0) == .pass)
        #expect(verdict(10, 5, 0) == .wait)
        #expect(verdict(10, 10, 0) == .pass)
        #expect(verdict(10, 9, 1) == .pass)                       // 10% failed is not more than 10%
        if case .halt(let why) = verdict(10, 5, 2) { #expect(why.contains("2 of 10 device(s) failed")) } else { Issue.record("no halt") }
        #expect(verdict(10, 3, 2, failure: 20) == .wait)          // 20% is the limit, not past it
        if case .halt(let why) = verdict(4, 3, 1, success: 100, failure: 50) {
            #expect(why.contains("under the success threshold of 100%"))
        } else { Issue.record("no halt under the success threshold") }
        #expect(verdict(3, 0, 1, failure: 0) != .wait)            // any failure halts at 0%
    }

    @Test("a device succeeds on a proven fetch with the target, fails on an upgrade failure line or at the window's end")
    func deviceVerdicts() {
        let target = "sip88xx.14-3-1MPP0101-23"
        func judge(_ fetches: [String?], _ lines: [(String, String)] = [], expired: Bool = false) -> DeviceVerdict {
            DeviceVerdict.judge(target: target, fetches: fetches.enumerated().map { ($0.offset, $0.element) },
                                upgradeLines: lines.map { (kind: $0.0, message: $0.1) }, expired: expired, window: 60)
        }
        #expect(judge([]) == .waiting)
        #expect(judge(["sip88xx.14-2-1MPP0101-23"]) == .waiting)
        if case .succeeded = judge(["sip88xx.14-2-1MPP0101-23", target]) {} else { Issue.record("a fetch with the target succeeds") }
        if case .succeeded(let why) = judge([target], [("upgrade_request", "x"), ("upgrade_success", "y")]) {
            #expect(why.contains("syslog"))
        } else { Issue.record("success line and target") }
        if case .failed(let why) = judge([target], [("upgrade_failure", "SEP Upgrade failed: bad image")]) {
            #expect(why.contains("bad image"))
        } else { Issue.record("a failure line fails even with the target") }
        if case .failed(let why) = judge([], expired: true) { #expect(why == "no proven contact within 60 s") } else { Issue.record("expired") }
        if case .failed(let why) = judge(["sip88xx.14-2-1MPP0101-23"], expired: true) {
            #expect(why.contains("the last shows sip88xx.14-2-1MPP0101-23"))
        } else { Issue.record("expired on the old firmware") }
        #expect(judge(["sip88xx.14-3-1MPP0101-2"]) == .waiting)   // exact match only
    }

    @Test("the state machine: what each action leads to, and 409 with the rule otherwise")
    func stateMachine() throws {
        let table: [(CampaignState, CampaignState.Action, CampaignState?)] = [
            (.running, .pause, .paused), (.running, .resume, nil), (.running, .abort, .aborted), (.running, .rollback, .rolledBack),
            (.paused, .pause, nil), (.paused, .resume, .running), (.paused, .abort, .aborted), (.paused, .rollback, .rolledBack),
            (.halted, .pause, nil), (.halted, .resume, .running), (.halted, .abort, .aborted), (.halted, .rollback, .rolledBack),
            (.done, .pause, nil), (.done, .resume, nil), (.done, .abort, nil), (.done, .rollback, .rolledBack),
            (.aborted, .resume, nil), (.aborted, .rollback, .rolledBack),
            (.rolledBack, .rollback, nil), (.rolledBack, .resume, nil), (.rolledBack, .abort, nil),
        ]
        for (state, action, expected) in table {
            if let expected {
                #expect(try state.after(action) == expected, "\(state) + \(action)")
            } else {
                do {
                    _ = try state.after(action)
                    Issue.record("\(state) + \(action) should be refused")
                } catch {
                    #expect(error.kind == .conflict && error.field == "state" && error.rule?.hasPrefix(action.rawValue + ":") == true)
                }
            }
        }
        #expect(CampaignState.allCases.filter(\.isFinal) == [.done, .aborted, .rolledBack])
    }

    @Test("jobs.db keeps a campaign: one at a time, one action at a time, a rollback after the end queues its job again")
    func store() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("campaign-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let jobs = JobStore(stateDirectory: folder)
        let spec = CampaignSpec(selection: CampaignSelection(model: "CP-8841-3PCC"), upgradeRule: "http://fw/x.loads", firmware: "x")
        let waves = WavePlanner.plan([mac("000e08abcd01"), mac("000e08abcd02")], canary: [mac("000e08abcd01")], percents: [100])
        let campaign = try CampaignJob.start(spec, waves: waves, who: "api:alice", startedBy: "alice", jobs: jobs)
        #expect(campaign.state == .running && campaign.job.kind == .campaign && campaign.job.state == .queued)
        #expect(campaign.who == "campaign:\(campaign.id) by api:alice")
        #expect(campaign.waves.map(\.counts.devices) == [1, 1] && campaign.notStarted == 2)
        #expect(CampaignSpec(options: campaign.job.options) == spec)
        do {
            _ = try CampaignJob.start(spec, waves: waves, who: "api:bob", startedBy: "bob", jobs: jobs)
            Issue.record("a second campaign while one runs")
        } catch let error as AdminError {
            #expect(error.kind == .conflict && error.rule == "one_job_per_kind")
        }
        let campaigns = CampaignStore(jobs: jobs)
        #expect(try campaigns.request(campaign.id, .pause, by: "api:bob").requested == .pause)
        do {
            try campaigns.request(campaign.id, .abort, by: "api:bob")
            Issue.record("a second action before the first is taken")
        } catch let error as AdminError {
            #expect(error.rule == "one_action_at_a_time")
        }
        let page = try campaigns.devices(of: campaign.id, limit: 1)
        #expect(page.devices.map(\.mac) == ["000e08abcd01"] && page.next == "0:000e08abcd01")
        #expect(try campaigns.devices(of: campaign.id, after: page.next).devices.map(\.mac) == ["000e08abcd02"])
        #expect(CampaignStore.isCursor("0:000e08abcd01") && !CampaignStore.isCursor("0:000E08ABCD01")
                && !CampaignStore.isCursor("x:000e08abcd01") && !CampaignStore.isCursor("0:000e08abcd01:1"))
        // A restart puts a running campaign's job back in the queue (others are interrupted).
        _ = try jobs.claimQueued()
        #expect(try jobs.interruptRunning().isEmpty)
        #expect(try jobs.job(campaign.id).state == .queued)
        // Done: its job ended; a rollback queues the same job again (and is refused while another campaign runs).
        try campaigns.clearRequest(campaign.id)
        try campaigns.set(campaign.id, state: .done)
        _ = try jobs.claimQueued()
        try jobs.finish(campaign.id, .done)
        #expect(try jobs.job(campaign.id).state == .done)
        let other = try CampaignJob.start(spec, waves: waves, who: "api:bob", startedBy: "bob", jobs: jobs)
        do {
            try campaigns.request(campaign.id, .rollback, by: "api:carol")
            Issue.record("a rollback while another campaign holds the slot")
        } catch let error as AdminError {
            #expect(error.rule == "one_job_per_kind")
        }
        try jobs.cancel(other.id)
        // Cancelled before it ran: that campaign is aborted, not left running.
        #expect(try campaigns.campaign(other.id).state == .aborted)
        let rolling = try campaigns.request(campaign.id, .rollback, by: "api:carol")
        #expect(rolling.requested == .rollback && rolling.requestedBy == "api:carol" && rolling.job.state == .queued
                && rolling.job.finishedAt == nil)
    }
}
