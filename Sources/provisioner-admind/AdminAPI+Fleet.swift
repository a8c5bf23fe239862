import Foundation
import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

extension AdminAPI {
    func listClaims(_ input: Operations.ListClaims.Input) async throws -> Operations.ListClaims.Output {
        _ = try Caller.required()
        let json = try await store.read { editor in JSON.array(try ClaimEntry.all(in: editor).map(\.json)) }
        return .ok(.init(body: .json(try Typed.decode([Components.Schemas.Claim].self, json))))
    }

    func adoptClaim(_ input: Operations.AdoptClaim.Input) async throws -> Operations.AdoptClaim.Output {
        let caller = try Caller.admin()
        let mac = try AdminAPI.mac(input.path.mac)
        guard case .json(let request) = input.body else { throw APIProblem.badRequest("body: JSON expected", field: "body", rule: "media_type") }
        try DeviceEditor.checkFields([("group", "group", request.group), ("model", "model", request.model)])
        let template = Device(mac: mac, serial: nil, model: request.model, group: request.group, enabled: request.enabled ?? true)
        let etags = store.etags
        let (answer, etag) = try await store.write(caller, mode: ChangeMode(dryRun: input.query.dryRun ?? false)) { editor, session, mode in
            let answer = try FleetChange.run(session) { session in
                try DeviceEditor(store: editor, session: session, mode: mode).adopt([mac], like: template)
            }
            // The new device's ETag, as GET /devices/{mac} answers it.
            let etag = try editor.device(mac: mac).map { Versions.device($0, etags) }
            return (answer, etag)
        }
        switch answer {
        case .dryRun(let json):
            return .ok(.init(body: .json(try Typed.decode(Components.Schemas.DryRunReport.self, json))))
        case .changed(let json):
            return .created(.init(headers: .init(eTag: etag, location: "/api/v1/devices/\(mac.hex)"),
                                  body: .json(try Typed.decode(Components.Schemas.ChangeResult.self, json))))
        }
    }

    func listPending(_ input: Operations.ListPending.Input) async throws -> Operations.ListPending.Output {
        _ = try Caller.required()
        let query = input.query
        let after = try query.after.map { try AdminAPI.mac($0, field: "after").hex } ?? ""
        let limit = try FleetPaging.limit(query.limit)
        let (group, model) = (query.group, query.model)
        let page = try await store.read { editor in
            var scan = PendingScan(store: editor, group: group)
            scan.model = model
            return try scan.page(after: after, limit: limit)
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.PendingPage.self, page.json))))
    }

    func listHistory(_ input: Operations.ListHistory.Input) async throws -> Operations.ListHistory.Output {
        _ = try Caller.required()
        let query = input.query
        let limit = try FleetPaging.limit(query.limit)
        var filter = AuditFilter(who: query.who, limit: limit + 1)
        if let after = query.after {
            guard after >= 1 else { throw APIProblem.badRequest("after: \(after) is not a change set id", field: "after", rule: "minimum 1") }
            filter.before = Int(after)
        }
        if let target = query.target { try filter.target(target) }
        let sets = try await store.read { [filter] editor in try editor.changeSets(filter) }
        let page = ListingPage<Int>(items: sets.prefix(limit).map(\.json), nextAfter: sets.count > limit ? sets[limit - 1].id : nil)
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.HistoryPage.self, page.json))))
    }

    func getChangeSet(_ input: Operations.GetChangeSet.Input) async throws -> Operations.GetChangeSet.Output {
        _ = try Caller.required()
        let id = Int(input.path.id)
        let entries = try await store.read { editor in
            var filter = AuditFilter(limit: Int(Int32.max))
            filter.changeSet = id
            return try editor.auditEntries(filter)
        }
        if entries.isEmpty { throw APIProblem.notFound("change set #\(id)", field: "id") }
        let json = JSON.array(entries.map { $0.json(changeSet: id) })
        return .ok(.init(body: .json(try Typed.decode([Components.Schemas.HistoryEntry].self, json))))
    }

    func revertChangeSet(_ input: Operations.RevertChangeSet.Input) async throws -> Operations.RevertChangeSet.Output {
        let caller = try Caller.admin()
        let id = Int(input.path.id)
        let mode = ChangeMode(dryRun: input.query.dryRun ?? false, force: input.query.force ?? false)
        let answer = try await store.write(caller, mode: mode) { editor, session, mode in
            try FleetChange.run(session) { session in
                let plan: RevertPlan
                do {
                    plan = try RevertPlan.changeSet(id, in: editor)
                } catch var error as AdminError where error.field == "ID" {
                    error.field = "id"  // provctl's argument is the API's path parameter
                    throw error
                }
                return try ChangeEngine(store: editor, session: session, mode: mode).revert(plan)
            }
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.ChangeOutcome.self, answer.json))))
    }

    func exportDevices(_ input: Operations.ExportDevices.Input) async throws -> Operations.ExportDevices.Output {
        let caller = try Caller.required()
        let query = input.query
        let showSecrets = query.withSecrets ?? false
        if showSecrets, caller.role != .admin {
            throw APIProblem(status: 403, detail: "with_secrets: user \(caller.user) has the role viewer, which may not read secrets",
                             code: "usage", field: "with_secrets", rule: "admin role required")
        }
        let (group, model) = (query.group, query.model)
        let asJSON = FleetExport.prefersJSON(input.headers.accept)
        let export = try await store.read { editor in
            let export = try DeviceExport(from: editor, group: group, model: model, showSecrets: showSecrets)
            return asJSON ? FleetExport.Body.json(export.json) : .csv(export.csv(neutralise: true))
        }
        switch export {
        case .json(let json):
            return .ok(.init(body: .json(try Typed.decode([Components.Schemas.ExportRow].self, json))))
        case .csv(let text):
            return .ok(.init(body: .csv(HTTPBody(text))))
        }
    }

    func downloadBackup(_ input: Operations.DownloadBackup.Input) async throws -> Operations.DownloadBackup.Output {
        _ = try Caller.admin()
        let copy = try await store.read { editor in try FleetBackup.copy(editor) }
        return .ok(.init(body: .applicationVnd_sqlite3(copy.body)))
    }

    func checkConfiguration(_ input: Operations.CheckConfiguration.Input) async throws -> Operations.CheckConfiguration.Output {
        let caller = try Caller.required()
        let (path, journal) = (store.databasePath, store.journals.local)
        let json = try await store.read { editor in
            try CheckEngine(store: editor, databasePath: path, journalPath: journal, disclosure: caller.disclosure)
                .run(webUser: FleetCheck.webUser).json
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.CheckReport.self, json))))
    }
}

extension AuditFilter {
    /// Only the entries about `target`: a device (its MAC) or a scope; 400 naming the field otherwise.
    mutating func target(_ target: String) throws {
        if let mac = MACAddress(target) {
            self.mac = mac
        } else if let scope = Scope(target) {
            self.scope = scope
        } else {
            throw APIProblem.badRequest("target: \"\(target)\" is neither a MAC nor a scope (default, model:NAME, group:NAME, device:MAC)",
                                        field: "target", rule: "mac_or_scope")
        }
    }
}
