import Foundation
import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

/// Expected devices (issue 25): the order list's entries, as `provctl expect` reads and writes them.
extension AdminAPI {
    func listExpected(_ input: Operations.ListExpected.Input) async throws -> Operations.ListExpected.Output {
        let caller = try Caller.required()
        let limit = try FleetPaging.limit(input.query.limit)
        let after = input.query.after
        let page = try await store.read { editor in
            let session = AdminSession(who: caller.who, disclosure: caller.disclosure)
            let (items, next) = try ExpectedDevices.page(editor, after: after, limit: limit, session: session)
            return ListingPage<String>(items: items, nextAfter: next).json
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.ExpectedPage.self, page))))
    }

    func getExpected(_ input: Operations.GetExpected.Input) async throws -> Operations.GetExpected.Output {
        let caller = try Caller.required()
        let key = ExpectedDevices.key(naming: input.path.id)
        let etags = store.etags
        let (json, tag) = try await store.read { editor in
            guard let json = try ExpectedDevices.entryJSON(editor, key: key, session: AdminSession(who: caller.who, disclosure: caller.disclosure))
            else { throw AdminError(.notFound, "id: \(key) is no expected device", field: "id", rule: "an id GET /expected lists") }
            return (json, try Self.expectedTag(editor, key: key, etags: etags))
        }
        return .ok(.init(headers: .init(eTag: tag), body: .json(try Typed.decode(Components.Schemas.Expected.self, json))))
    }

    func importExpected(_ input: Operations.ImportExpected.Input) async throws -> Operations.ImportExpected.Output {
        let caller = try Caller.admin()
        guard case .csv(let body) = input.body else { throw APIProblem.badRequest("body: text/csv expected", field: "body") }
        let bytes = try await [UInt8](collecting: body, upTo: AdminDaemon.bodyLimit)
        let parsed = try ExpectedDevices.rows(DeviceImport.records(bytes))
        let json = try await store.write(caller, mode: ChangeMode(dryRun: input.query.dryRun ?? false)) { editor, session, mode in
            try ExpectedDevices.importRows(parsed, file: "the body", store: editor, session: session, mode: mode).json
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.ExpectedImportResult.self, json))))
    }

    func deleteExpected(_ input: Operations.DeleteExpected.Input) async throws -> Operations.DeleteExpected.Output {
        let caller = try Caller.admin()
        let key = ExpectedDevices.key(naming: input.path.id)
        let etags = store.etags, ifMatch = input.headers.ifMatch
        let answer = try await store.write(caller, mode: ChangeMode(dryRun: input.query.dryRun ?? false)) { editor, session, mode in
            // The check and the removal in one turn: the current ETag is computed here.
            let current = try Self.expectedTag(editor, key: key, etags: etags)
            try AdminAPI.precondition(ifMatch, current: current)
            return try FleetChange.run(session) { session in
                try ExpectedDevices.remove(keys: [key], store: editor, session: session, mode: mode)
            }
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.ChangeOutcome.self, answer.json))))
    }

    /// The ETag of an entry: its full content, secrets shown (404 when there is none).
    static func expectedTag(_ editor: ConfigurationEditor, key: String, etags: ETagKey) throws -> String {
        let full = AdminSession(who: "", disclosure: Disclosure(showSecrets: true))
        guard let json = try ExpectedDevices.entryJSON(editor, key: key, session: full) else {
            throw AdminError(.notFound, "id: \(key) is no expected device", field: "id", rule: "an id GET /expected lists")
        }
        return etags.tag(json)
    }
}
