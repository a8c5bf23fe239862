import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

/// Settings and variables per scope (provctl settings/set/unset, variables/var/unvar). A scope's settings (and,
/// apart, its variables) are one resource: one ETag covers them all, and a write to one name needs it.
extension AdminAPI {
    func listScopeSettings(_ input: Operations.ListScopeSettings.Input) async throws -> Operations.ListScopeSettings.Output {
        let (json, tag) = try await listing(input.path.scope, version: Versions.settings) { try $0.settings(at: $1).json }
        return .ok(.init(headers: .init(eTag: tag), body: .json(try Typed.decode([Components.Schemas.Setting].self, json))))
    }

    func putScopeSetting(_ input: Operations.PutScopeSetting.Input) async throws -> Operations.PutScopeSetting.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("body: JSON expected") }
        let name = input.path.name, text = input.path.scope
        let leave = body.intent == .keep
        if leave, !body.value.isEmpty {
            throw APIProblem.badRequest("intent: keep leaves the phone's value; the value must be empty", field: "intent", rule: "keep_needs_empty")
        }
        let access = body.ua.flatMap { UserAccess(rawValue: $0.rawValue) }
        let partition = body.partition ?? ""
        let (outcome, tag) = try await change(input.query.dryRun, input.query.force, ifMatch: input.headers.ifMatch, scope: text,
                                          version: Versions.settings) { editor, scope, session in
            let checked = try SettingsEditor.check(assignments: leave ? [] : [(name, body.value)], leave: leave ? [name] : [],
                                                   session: session.session)
            return try session.settings.set(checked, at: scope, access: access, partition: partition)
        }
        return .ok(.init(headers: .init(eTag: tag), body: .json(outcome)))
    }

    func deleteScopeSetting(_ input: Operations.DeleteScopeSetting.Input) async throws -> Operations.DeleteScopeSetting.Output {
        let name = input.path.name
        let (outcome, tag) = try await change(input.query.dryRun, input.query.force, ifMatch: input.headers.ifMatch,
                                          scope: input.path.scope, version: Versions.settings) { _, scope, session in
            try session.settings.unset([name], at: scope)
        }
        return .ok(.init(headers: .init(eTag: tag), body: .json(outcome)))
    }

    func listScopeVariables(_ input: Operations.ListScopeVariables.Input) async throws -> Operations.ListScopeVariables.Output {
        let (json, tag) = try await listing(input.path.scope, version: Versions.variables) { try $0.variables(at: $1).json }
        return .ok(.init(headers: .init(eTag: tag), body: .json(try Typed.decode([Components.Schemas.Variable].self, json))))
    }

    func putScopeVariable(_ input: Operations.PutScopeVariable.Input) async throws -> Operations.PutScopeVariable.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("body: JSON expected") }
        let name = input.path.name
        let (outcome, tag) = try await change(input.query.dryRun, input.query.force, ifMatch: input.headers.ifMatch,
                                          scope: input.path.scope, version: Versions.variables) { _, scope, session in
            try SettingsEditor.checkVariables([(name, body.value)], session: session.session)
            return try session.settings.setVariables([(name, body.value)], at: scope)
        }
        return .ok(.init(headers: .init(eTag: tag), body: .json(outcome)))
    }

    func deleteScopeVariable(_ input: Operations.DeleteScopeVariable.Input) async throws -> Operations.DeleteScopeVariable.Output {
        let name = input.path.name
        let (outcome, tag) = try await change(input.query.dryRun, input.query.force, ifMatch: input.headers.ifMatch,
                                          scope: input.path.scope, version: Versions.variables) { _, scope, session in
            try session.settings.unsetVariables([name], at: scope)
        }
        return .ok(.init(headers: .init(eTag: tag), body: .json(outcome)))
    }

    func listGroups(_ input: Operations.ListGroups.Input) async throws -> Operations.ListGroups.Output {
        _ = try Caller.required()
        let json = try await store.read { editor in try editor.scopeNames(kind: "group").json }
        return .ok(.init(body: .json(try Typed.decode([Components.Schemas.NameSummary].self, json))))
    }

    func listModels(_ input: Operations.ListModels.Input) async throws -> Operations.ListModels.Output {
        _ = try Caller.required()
        let json = try await store.read { editor in try editor.scopeNames(kind: "model").json }
        return .ok(.init(body: .json(try Typed.decode([Components.Schemas.NameSummary].self, json))))
    }

    /// The parameter catalogue (what provctl checks names and values against); `model` is a firmware family.
    func listCatalogue(_ input: Operations.ListCatalogue.Input) async throws -> Operations.ListCatalogue.Output {
        _ = try Caller.required()
        let limit = input.query.limit ?? 100
        guard (1...1000).contains(limit) else {
            throw APIProblem.badRequest("limit: \(limit) must be 1 to 1000", field: "limit", rule: "page_size")
        }
        let json = ParameterCatalogue.page(after: input.query.after, limit: limit, family: input.query.model, search: input.query.q)
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.CataloguePage.self, json))))
    }
}

/// The session a scope change runs with: the engine's editor for the scope and the session its checks take.
struct ScopeChangeSession {
    var session: AdminSession
    var settings: SettingsEditor
}

extension AdminAPI {
    /// A scope's settings or variables as the caller may see them (`list`), with the ETag of them all (`version`).
    func listing(_ text: String, version: @escaping @Sendable (Scope, ConfigurationEditor, ETagKey) throws -> String,
                 _ list: @escaping @Sendable (SettingsEditor, Scope) throws -> JSON) async throws -> (JSON, String) {
        let caller = try Caller.required()
        let etags = store.etags
        return try await store.read { editor in
            let scope = try AdminAPI.existingScope(text, in: editor)
            let session = AdminSession(who: caller.who, disclosure: caller.disclosure)
            return (try list(SettingsEditor(store: editor, session: session), scope), try version(scope, editor, etags))
        }
    }

    /// One change at one scope, as one turn of the writer: the scope's current ETag (`version`) checked against
    /// `ifMatch`, the change (`body`), and the answer with the scope's new ETag.
    func change(_ dryRun: Bool?, _ force: Bool?, ifMatch: String?, scope text: String,
                version: @escaping @Sendable (Scope, ConfigurationEditor, ETagKey) throws -> String,
                _ body: @escaping @Sendable (ConfigurationEditor, Scope, ScopeChangeSession) throws -> Edited<EditSummary>)
        async throws -> (Components.Schemas.ChangeOutcome, String) {
        let caller = try Caller.admin()
        let mode = ChangeMode(dryRun: dryRun ?? false, force: force ?? false)
        let etags = store.etags
        let (json, tag) = try await store.write(caller, mode: mode) { editor, session, mode in
            let scope = try AdminAPI.existingScope(text, in: editor)
            let current = try version(scope, editor, etags)
            try AdminAPI.precondition(ifMatch, current: current)
            let warnings = Warnings()
            let session = EditedAnswer.collecting(session, into: warnings)
            let edited = try body(editor, scope, ScopeChangeSession(session: session,
                                                                   settings: SettingsEditor(store: editor, session: session, mode: mode)))
            return (try EditedAnswer.json(edited, warnings: warnings.all), mode.dryRun ? current : try version(scope, editor, etags))
        }
        return (try Typed.decode(Components.Schemas.ChangeOutcome.self, json), tag)
    }
}
