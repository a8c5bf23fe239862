import Foundation
import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

/// Firmware campaigns (issue 25 point 1): each one a job of kind `campaign` that the daemon's runner runs
/// (`CampaignRunner`), its state in `jobs.db` (`CampaignStore`). Starting one answers 202 with the campaign and its
/// `Location`; a dry run answers the waves it would make. Actions are asked here and taken by the runner.
extension AdminAPI {
    func startCampaign(_ input: Operations.StartCampaign.Input) async throws -> Operations.StartCampaign.Output {
        let caller = try Caller.admin()
        guard case .json(let request) = input.body else { throw APIProblem.badRequest("body: JSON expected", field: "body") }
        let spec = try Self.campaignSpec(request)
        let waves = try await store.read { editor in
            try CampaignJob.plan(spec, in: editor, session: AdminSession(who: caller.who, disclosure: caller.disclosure))
        }
        if input.query.dryRun == true {
            return .ok(.init(body: .json(try Typed.decode(Components.Schemas.CampaignPreview.self, CampaignStore.preview(waves, spec: spec)))))
        }
        let jobs = jobs
        let campaign = try await Self.blocking {
            try CampaignJob.start(spec, waves: waves, who: caller.who, startedBy: caller.user, jobs: jobs)
        }
        return .accepted(.init(headers: .init(location: campaign.location),
                               body: .json(try Typed.decode(Components.Schemas.Campaign.self, campaign.json))))
    }

    func listCampaigns(_ input: Operations.ListCampaigns.Input) async throws -> Operations.ListCampaigns.Output {
        _ = try Caller.required()
        let limit = try Self.limit(input.query.limit)
        let after = try Self.idCursor(input.query.after, of: "campaign")
        let campaigns = CampaignStore(jobs: jobs)
        let page = try await Self.blocking { try campaigns.campaigns(after: after, limit: limit) }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.CampaignPage.self,
                                                      CampaignStore.page(page.campaigns, next: page.next)))))
    }

    func getCampaign(_ input: Operations.GetCampaign.Input) async throws -> Operations.GetCampaign.Output {
        _ = try Caller.required()
        let limit = try Self.limit(input.query.limit)
        if let after = input.query.after, !CampaignStore.isCursor(after) {
            throw APIProblem.badRequest("after: \"\(after)\" is not a cursor (use devices.next_after)", field: "after", rule: "cursor")
        }
        if let wave = input.query.wave, !(0...10).contains(wave) {
            throw APIProblem.badRequest("wave: \(wave) must be 0..10", field: "wave", rule: "0..10")
        }
        let campaigns = CampaignStore(jobs: jobs), id = input.path.id, query = input.query
        let detail = try await Self.blocking {
            let campaign = try campaigns.campaign(named: id)
            let page = try campaigns.devices(of: campaign.id, after: query.after, limit: limit, outcome: query.outcome?.rawValue,
                                             wave: query.wave)
            return CampaignStore.detail(campaign, devices: page.devices, next: page.next)
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.CampaignDetail.self, detail))))
    }

    func actOnCampaign(_ input: Operations.ActOnCampaign.Input) async throws -> Operations.ActOnCampaign.Output {
        let caller = try Caller.admin()
        guard let action = CampaignState.Action(rawValue: input.path.action.rawValue) else {
            throw APIProblem.badRequest("action: \"\(input.path.action.rawValue)\" must be pause, resume, abort or rollback",
                                        field: "action", rule: "pause|resume|abort|rollback")
        }
        let campaigns = CampaignStore(jobs: jobs), id = input.path.id
        if input.query.dryRun == true {
            let campaign = try await Self.blocking {
                let campaign = try campaigns.campaign(named: id)
                try campaigns.check(campaign, action)
                return campaign
            }
            return .ok(.init(body: .json(try Typed.decode(Components.Schemas.Campaign.self, campaign.json))))
        }
        let campaign = try await Self.blocking {
            try campaigns.request(try campaigns.campaign(named: id).id, action, by: caller.who)
        }
        return .accepted(.init(body: .json(try Typed.decode(Components.Schemas.Campaign.self, campaign.json))))
    }

    /// A page cursor that is an id (`next_after` of jobs and campaigns): 400 when it is not one.
    static func idCursor(_ text: String?, of what: String) throws -> Int? {
        try text.map { text in
            guard let id = Int(text), id > 0 else {
                throw APIProblem.badRequest("after: \"\(text)\" is not a \(what) id (use next_after)", field: "after", rule: "cursor")
            }
            return id
        }
    }

    /// The request as the engine's spec; a MAC that cannot be one is 400 naming its field.
    static func campaignSpec(_ request: Components.Schemas.CampaignRequest) throws -> CampaignSpec {
        let selection = request.selection
        let spec = CampaignSpec(
            selection: CampaignSelection(macs: try selection.macs.map { try $0.map { try mac($0, field: "selection.macs") } },
                                         group: selection.group, model: selection.model, firmware: selection.firmware,
                                         all: selection.all ?? false),
            upgradeRule: request.upgradeRule, firmware: request.firmware,
            canaryMACs: try (request.canary?.macs ?? []).map { try mac($0, field: "canary.macs") },
            canaryGroup: request.canary?.group, waves: request.waves ?? CampaignSpec.defaultWaves,
            window: request.window ?? 3600, successThreshold: request.successThreshold ?? 90,
            failureThreshold: request.failureThreshold ?? 10, rate: request.rate ?? 10, event: request.event?.rawValue ?? "resync")
        return spec
    }
}
