import Foundation
import Hummingbird
import Provisioning
import ProvisioningAdmin

/// The campaign pages: the list, one campaign with its waves, its progress and its devices (the page reloads
/// itself while the campaign runs), and its actions (pause, resume, halt = abort, rollback) as the API's
/// `POST /campaigns/{id}/{action}` asks them of the daemon's runner (`CampaignStore.request`). Only the actions
/// the campaign's state allows are offered (`CampaignStore.check`), and to admins only.
extension Console {
    func registerCampaigns(on group: RouterGroup<BasicRequestContext>) {
        group.get("/campaigns") { _, _ in
            try await shown { try await page("Campaigns", "campaigns", nav: "campaigns", try await campaignList()) }
        }
        group.get("/campaigns/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            return try await followed("Campaign \(Shown.text(id))", "campaign", nav: "campaigns") { try await campaign(id) }
        }
        group.post("/campaigns/:id/:action") { request, context in
            let id = context.parameters.get("id") ?? "", text = context.parameters.get("action") ?? ""
            return try await change(request) { _, caller in
                guard let action = CampaignState.Action(rawValue: text) else {
                    throw APIProblem.badRequest("action: \"\(text)\" must be pause, resume, abort or rollback", field: "action",
                                                rule: "pause|resume|abort|rollback")
                }
                let campaigns = CampaignStore(jobs: jobs)
                let record = try await AdminAPI.blocking { try campaigns.request(try campaigns.campaign(named: id).id, action, by: caller.who) }
                return Console.redirect("/console/campaigns/\(record.id)")
            }
        }
    }

    func campaignList() async throws -> [String: Any] {
        let campaigns = CampaignStore(jobs: jobs)
        let page = try await AdminAPI.blocking { try campaigns.campaigns(limit: 50) }
        return ["rows": page.campaigns.map(Console.campaignValues)]
    }

    static func campaignValues(_ record: CampaignRecord) -> [String: Any] {
        let counts = record.counts
        let current = record.wave.flatMap { record.waves.indices.contains($0) ? record.waves[$0].name : nil }
        return ["id": record.id, "state": record.state.rawValue, "firmware": Shown.text(record.spec.firmware),
                "rule": Shown.text(record.spec.upgradeRule), "devices": counts.devices, "succeeded": counts.succeeded,
                "failed": counts.failed, "waiting": counts.waiting, "wave": Shown.text(current ?? "none yet"),
                "startedBy": Shown.text(record.job.startedBy), "createdAt": Shown.text(record.job.createdAt),
                "updatedAt": Shown.text(record.updatedAt), "reason": Shown.text(record.reason), "hasReason": record.reason != nil,
                "requested": Shown.text(record.requested.map { "\($0.rawValue) (asked by \(record.requestedBy ?? "?"))" }),
                "hasRequested": record.requested != nil]
    }

    /// A campaign, its waves and its first 100 devices; `running` while the page should follow it.
    func campaign(_ id: String) async throws -> ([String: Any], Bool) {
        let campaigns = CampaignStore(jobs: jobs)
        let (record, devices, allowed) = try await AdminAPI.blocking {
            let record = try campaigns.campaign(named: id)
            let devices = try campaigns.devices(of: record.id, limit: 100).devices
            let allowed = CampaignState.Action.allCases.filter { (try? campaigns.check(record, $0)) != nil }
            return (record, devices, allowed)
        }
        var values = Console.campaignValues(record)
        let micros = { (value: Int?) in value.map { Shown.time($0 / 1_000_000) } ?? "" }
        values["waves"] = record.waves.map { wave -> [String: Any] in
            ["name": Shown.text(wave.name), "percent": wave.percent.map { "\($0) %" } ?? "", "state": wave.state,
             "devices": wave.counts.devices, "succeeded": wave.counts.succeeded, "failed": wave.counts.failed,
             "waiting": wave.state == "waiting" ? 0 : wave.counts.waiting, "startedAt": micros(wave.startedAt),
             "deadline": micros(wave.deadline), "endedAt": micros(wave.endedAt),
             "changeSet": wave.changeSet.map { $0 as Any } ?? false]
        }
        values["devicesList"] = devices.map { device -> [String: Any] in
            ["mac": Shown.text(device.mac),
             "wave": Shown.text(record.waves.indices.contains(device.wave) ? record.waves[device.wave].name : String(device.wave)),
             "outcome": device.outcome, "detail": Shown.text(device.detail),
             "pushed": Shown.text(device.pushed), "at": micros(device.at)]
        }
        let labels: [CampaignState.Action: String] = [.pause: "Pause", .resume: "Resume", .abort: "Halt (abort)",
                                                       .rollback: "Roll back"]
        values["actions"] = allowed.map { ["action": $0.rawValue, "label": labels[$0] ?? $0.rawValue, "id": record.id] }
        values["hasActions"] = !allowed.isEmpty
        let running = record.state == .running || record.requested != nil
        values["running"] = running
        return (values, running)
    }
}
