import Foundation
import HTTPTypes
import Hummingbird
import Provisioning
import ProvisioningAdmin

/// The console's change pages (issue 26 point 1): settings at a scope (the engine's dry run shows the grouped
/// blast radius before the save; a save that would stop devices rendering is refused with the devices and the
/// reason), claims adopted, the pending pushed (a resync job), history reverted, jobs followed and cancelled.
/// Every change is a POST that `ConsoleGuard` checks first (same origin, the user's token), made by an admin
/// (a viewer sees no form and is 403, by `CallerMiddleware` before any of this), through the same engine calls
/// as the API's handlers and provctl's commands. A written change answers 303 to the page that shows it.
extension Console {
    func registerChanges(on group: RouterGroup<BasicRequestContext>) {
        group.get("/settings") { request, _ in
            let scope = request.uri.queryParameters["scope"].map(String.init) ?? "default"
            return try await shown { try await page("Settings at \(scope)", "settings", nav: "settings", try await settings(scope)) }
        }
        group.post("/settings/preview") { request, _ in try await change(request) { form, caller in try await settingsPreview(form, caller) } }
        group.post("/settings/save") { request, _ in try await change(request) { form, caller in try await settingsSave(form, caller) } }
        group.post("/claims/:mac/adopt") { request, context in
            let text = context.parameters.get("mac") ?? ""
            return try await change(request) { form, caller in try await adopt(text, form, caller) }
        }
        group.get("/pending") { request, _ in
            let after = request.uri.queryParameters["after"].map(String.init)
            return try await shown { try await page("Pending", "pending", nav: "pending", try await pending(after: after)) }
        }
        group.post("/pending/push") { request, _ in try await change(request) { form, caller in try await push(form, caller) } }
        group.get("/history") { request, _ in
            let query = request.uri.queryParameters
            let before = query["before"].flatMap { Int($0) }
            let target = query["target"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            return try await shown {
                try await page(target.map { "History of \($0)" } ?? "History", "history", nav: "history",
                               try await history(before: before, target: target))
            }
        }
        group.get("/history/:id") { _, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? 0
            return try await shown { try await page("Change set #\(id)", "changeset", nav: "history", try await changeSet(id)) }
        }
        group.post("/history/:id/revert/preview") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? 0
            return try await change(request) { _, caller in try await revertPreview(id, caller) }
        }
        group.post("/history/:id/revert") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? 0
            return try await change(request) { _, caller in try await revert(id, caller) }
        }
        group.get("/jobs") { _, _ in try await shown { try await page("Jobs", "jobs", nav: "jobs", try await jobList()) } }
        group.get("/jobs/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            return try await followed("Job \(Shown.text(id))", "job", nav: "jobs") { try await job(id) }
        }
        group.post("/jobs/:id/cancel") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await change(request) { _, _ in
                let jobs = jobs
                let job = try await AdminAPI.blocking { try jobs.cancel(try jobs.job(named: id).id) }
                return Console.redirect("/console/jobs/\(job.id)")
            }
        }
    }

    // MARK: the frame of a change

    /// A POST that may change something: the caller must be an admin, the request must pass `ConsoleGuard`, then
    /// `body` runs with the form. A failure is a page with its status (the engine's, as the API maps it).
    func change(_ request: Request, _ body: @escaping @Sendable (ConsoleForm, Caller) async throws -> Response) async throws -> Response {
        do {
            let caller = try Caller.admin()
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let form = ConsoleForm(String(buffer: buffer))
            if let reason = guard_.refusal(request.headers, authority: request.head.authority, token: form["csrf"], user: caller.user) {
                throw APIProblem(status: 403, detail: reason, code: "usage", field: "csrf", rule: "same_origin_with_token")
            }
            return try await body(form, caller)
        } catch {
            return try await problemPage(error)
        }
    }

    /// A read page whose failures (an unknown scope, job or change set) are pages too.
    func shown(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as HTTPError {
            throw error
        } catch {
            return try await problemPage(error)
        }
    }

    /// A page that follows something that runs: `load` gives its values and whether it still runs (then the page
    /// reloads itself).
    func followed(_ title: String, _ template: String, nav: String,
                  _ load: () async throws -> ([String: Any], Bool)) async throws -> Response {
        try await shown {
            let (values, running) = try await load()
            return try await page(title, template, nav: nav, values, refresh: running)
        }
    }

    /// A failure as a page: its status, the engine's message, field and rule, and the devices it names (grouped by
    /// reason, then the first 200 one by one).
    func problemPage(_ error: any Error) async throws -> Response {
        let problem = ProblemMiddleware.problem(for: error, decoding: nil)
        let values: [String: Any] = [
            "status": problem.status, "detail": Shown.text(problem.detail), "field": Shown.text(problem.field),
            "rule": Shown.text(problem.rule), "hasProblems": !problem.problems.isEmpty, "hasField": problem.field != nil,
            "grouped": AdminError.Problem.grouped(problem.problems).map(Shown.text),
            "problems": problem.problems.prefix(200).map { item -> [String: Any] in
                ["mac": Shown.text(item.mac), "line": item.line.map(String.init) ?? "", "field": Shown.text(item.field),
                 "value": Shown.text(item.value), "rule": Shown.text(item.rule)]
            },
            "more": problem.problems.count > 200 ? (problem.problems.count - 200) as Any : false,
        ]
        return try await page(problem.title, "problem", nav: "", values, status: .init(code: problem.status))
    }

    static func redirect(_ path: String) -> Response {
        var headers = Console.securityHeaders
        headers[.location] = path
        return Response(status: .seeOther, headers: headers)
    }

    // MARK: settings

    func settings(_ text: String) async throws -> [String: Any] {
        let caller = try Caller.required()
        let etags = store.etags
        let read = try await store.read { editor in
            let scope = try AdminAPI.existingScope(text, in: editor)
            let settings = SettingsEditor(store: editor, session: AdminSession(who: caller.who, disclosure: caller.disclosure))
            return (scope: scope.description, rows: try settings.settings(at: scope).rows,
                    etag: try Versions.settings(scope, in: editor, etags),
                    groups: try editor.scopeNames(kind: "group").map(\.name), models: try editor.scopeNames(kind: "model").map(\.name))
        }
        let rows: [[String: Any]] = read.rows.map { row in
            ["name": Shown.text(row.name), "partition": Shown.text(row.partition), "ua": Shown.text(row.ua),
             "value": Shown.text(row.value)]
        }
        let names: [String] = ["default"] + read.groups.map { "group:" + $0 } + read.models.map { "model:" + $0 }
        let scopes: [[String: Any]] = names.map { scope in
            ["scope": Shown.text(scope), "query": Console.query(scope), "current": scope == read.scope]
        }
        return ["scope": Shown.text(read.scope), "query": Console.query(read.scope), "etag": read.etag, "rows": rows,
                "scopes": scopes]
    }

    /// What the settings form asks: set NAME=VALUE (with its `ua`) or unset NAME, at SCOPE.
    struct SettingsChange: Sendable {
        var scope: String
        var name: String
        var value: String
        var ua: UserAccess?
        var unset: Bool

        init(_ form: ConsoleForm) throws {
            scope = try form.required("scope")
            name = try form.required("name")
            value = form["value"] ?? ""
            unset = form["action"] == "unset"
            let access = form["ua"] ?? ""
            if access.isEmpty {
                ua = nil
            } else {
                guard let known = UserAccess(rawValue: access) else {
                    throw APIProblem.badRequest("ua: \"\(access)\" must be na, ro or rw", field: "ua", rule: "enum")
                }
                ua = known
            }
        }

        var values: [String: Any] {
            ["scope": Shown.text(scope), "name": Shown.text(name), "value": Shown.text(value), "ua": ua?.rawValue ?? "",
             "unset": unset]
        }

        /// The change, through the engine call the API's PUT/DELETE and provctl set/unset make.
        func run(_ settings: SettingsEditor, at scope: Scope, session: AdminSession) throws -> Edited<EditSummary> {
            if unset { return try settings.unset([name], at: scope) }
            let checked = try SettingsEditor.check(assignments: [(name, value)], leave: [], session: session)
            return try settings.set(checked, at: scope, access: ua)
        }
    }

    /// The dry run: the grouped blast radius (which devices' profiles would change, and how), the devices that
    /// would no longer render, and (when none would) the form that saves exactly this, tied to the scope's ETag.
    func settingsPreview(_ form: ConsoleForm, _ caller: Caller) async throws -> Response {
        let asked = try SettingsChange(form)
        let etags = store.etags
        let (radius, etag) = try await store.write(caller, mode: ChangeMode(dryRun: true)) { editor, session, mode in
            let scope = try AdminAPI.existingScope(asked.scope, in: editor)
            let etag = try Versions.settings(scope, in: editor, etags)
            let edited = try asked.run(SettingsEditor(store: editor, session: session, mode: mode), at: scope, session: session)
            guard case .dryRun(let report) = edited else { throw AdminError(.runtime, "dry run: the change was written") }
            return (BlastRadius(report), etag)
        }
        var values = radius.values.merging(asked.values) { first, _ in first }
        values["etag"] = etag
        values["action"] = "/console/settings/save"
        values["back"] = "/console/settings?scope=" + Console.query(asked.scope)
        let verb = asked.unset ? "Unset \(asked.name)" : "Set \(asked.name)"
        return try await page("\(verb) at \(asked.scope): preview", "preview", nav: "settings", values)
    }

    /// The save: refused (412) when the scope changed since the preview, refused (422, the devices and the
    /// reason) when a device that renders today would not; else written, and the change set shown.
    func settingsSave(_ form: ConsoleForm, _ caller: Caller) async throws -> Response {
        let asked = try SettingsChange(form)
        let ifMatch = form["etag"], etags = store.etags
        let changeSet = try await store.write(caller) { editor, session, mode in
            let scope = try AdminAPI.existingScope(asked.scope, in: editor)
            try AdminAPI.precondition(ifMatch, current: try Versions.settings(scope, in: editor, etags))
            let edited = try asked.run(SettingsEditor(store: editor, session: session, mode: mode), at: scope, session: session)
            guard case .written(let summary) = edited else { throw AdminError(.runtime, "the change was not written") }
            return summary.changeSet
        }
        return Console.redirect(changeSet.map { "/console/history/\($0)" } ?? "/console/settings?scope=" + Console.query(asked.scope))
    }

    static func query(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.:"))) ?? ""
    }

    // MARK: claims

    /// provctl adopt MAC --group G --model M (the API's POST /claims/{mac}/adopt): the device is made, the claim
    /// gone; its page is shown.
    func adopt(_ text: String, _ form: ConsoleForm, _ caller: Caller) async throws -> Response {
        let mac = try AdminAPI.mac(text)
        let group = form["group"].flatMap { $0.isEmpty ? nil : $0 }, model = form["model"].flatMap { $0.isEmpty ? nil : $0 }
        try DeviceEditor.checkFields([("group", "group", group), ("model", "model", model)])
        let template = Device(mac: mac, serial: nil, model: model, group: group, enabled: true)
        _ = try await store.write(caller) { editor, session, mode in
            _ = try FleetChange.run(session) { session in
                try DeviceEditor(store: editor, session: session, mode: mode).adopt([mac], like: template)
            }
        }
        return Console.redirect("/console/devices/\(mac.hex)")
    }

    // MARK: pending

    static let pendingPage = 100

    func pending(after: String?) async throws -> [String: Any] {
        let start = after.flatMap(MACAddress.init)?.hex ?? ""
        let read = try await store.read { editor in
            var scan = PendingScan(store: editor)
            scan.after = start
            scan.limit = Console.pendingPage + 1
            var rows: [(mac: String, model: String?, group: String?, states: [String], said: String?, problem: String?)] = []
            let found = try scan.run { entry in
                guard rows.count < Console.pendingPage else { return }
                rows.append((entry.device.mac.hex, entry.device.model, entry.device.group, entry.states,
                             entry.phoneSaid ?? entry.refusal, entry.problem))
            }
            return (rows: rows, more: found > Console.pendingPage)
        }
        return [
            "rows": read.rows.map { row -> [String: Any] in
                ["mac": row.mac, "model": Shown.text(row.model), "group": Shown.text(row.group),
                 "states": Shown.text(row.states.joined(separator: ", ")), "said": Shown.text(row.said ?? row.problem)]
            },
            "count": read.rows.count, "hasRows": !read.rows.isEmpty,
            "next": read.more ? (read.rows.last?.mac as Any) : false,
        ]
    }

    /// provctl resync --pending as a job (the API's POST /resync with `selection.state: pending`): paced SIP
    /// NOTIFYs, followed on the job's page.
    func push(_ form: ConsoleForm, _ caller: Caller) async throws -> Response {
        let text = form["rate"] ?? "10"
        guard let rate = Double(text), (0.1...100).contains(rate) else {
            throw APIProblem.badRequest("rate: \"\(text)\" must be 0.1..100 devices per second", field: "rate", rule: "0.1..100")
        }
        let selection = DeviceSelection(state: "pending")
        let devices = try await store.read { editor in try selection.devices(in: editor) }
        if devices.isEmpty {
            throw APIProblem(status: 422, detail: "selection: no device is pending", code: "usage", field: "selection",
                             rule: "empty_selection")
        }
        let jobs = jobs
        let job = try await AdminAPI.blocking {
            try ResyncJob.start(devices, options: ResyncOptions(via: .sip, event: "resync", rate: rate), startedBy: caller.user, jobs: jobs)
        }
        return Console.redirect("/console/jobs/\(job.id)")
    }

    // MARK: history

    static let historyPage = 50

    /// The change sets, newest first, 50 a page; `target`: only those about a device (its MAC) or a scope, as
    /// the API's `target` filter.
    func history(before: Int?, target: String?) async throws -> [String: Any] {
        var filter = AuditFilter(limit: Console.historyPage + 1)
        filter.before = before
        if let target { try filter.target(target) }
        let sets = try await store.read { [filter] editor in try editor.changeSets(filter) }
        let page = sets.prefix(Console.historyPage)
        return [
            "rows": page.map { set -> [String: Any] in
                ["id": set.id, "at": Shown.time(set.at), "who": Shown.text(set.who), "actions": Shown.text(set.actions.joined(separator: ", ")),
                 "target": Shown.text(set.targets == 1 ? set.target : "\(set.targets) targets"), "entries": set.entries,
                 "revertible": set.revertible ? "yes" : "no"]
            },
            "next": sets.count > Console.historyPage ? (page.last?.id as Any) : false,
            "target": target.map { Console.query($0) as Any } ?? false,
        ]
    }

    func changeSet(_ id: Int) async throws -> [String: Any] {
        let entries = try await store.read { editor in
            var filter = AuditFilter(limit: Int(Int32.max))
            filter.changeSet = id
            return try editor.auditEntries(filter)
        }
        if entries.isEmpty { throw APIProblem.notFound("change set #\(id)", field: "id") }
        return [
            "id": id, "revertible": entries.contains(where: \.revertible),
            "rows": entries.map { entry -> [String: Any] in
                ["at": Shown.time(entry.at), "who": Shown.text(entry.who), "action": Shown.text(entry.action),
                 "target": Shown.text(entry.target), "old": Shown.text(entry.oldValue), "new": Shown.text(entry.newValue),
                 "revertible": entry.revertible ? "yes" : "no"]
            },
        ]
    }

    /// The revert of one change set, through the engine provctl revert and the API's POST /history/{id}/revert call.
    func revertEdited(_ id: Int, _ caller: Caller, dryRun: Bool) async throws -> ConsoleOutcome {
        try await store.write(caller, mode: ChangeMode(dryRun: dryRun)) { editor, session, mode -> ConsoleOutcome in
            let plan = try RevertPlan.changeSet(id, in: editor)
            switch try ChangeEngine(store: editor, session: session, mode: mode).revert(plan) {
            case .dryRun(let report): return .dryRun(BlastRadius(report))
            case .written(let summary): return .written(summary.changeSet)
            }
        }
    }

    func revertPreview(_ id: Int, _ caller: Caller) async throws -> Response {
        guard case .dryRun(let radius) = try await revertEdited(id, caller, dryRun: true) else {
            throw AdminError(.runtime, "dry run: the change was written")
        }
        var values = radius.values
        values["action"] = "/console/history/\(id)/revert"
        values["back"] = "/console/history/\(id)"
        return try await page("Revert change set #\(id): preview", "preview", nav: "history", values)
    }

    func revert(_ id: Int, _ caller: Caller) async throws -> Response {
        guard case .written(let changeSet) = try await revertEdited(id, caller, dryRun: false) else {
            throw AdminError(.runtime, "the revert was not written")
        }
        return Console.redirect(changeSet.map { "/console/history/\($0)" } ?? "/console/history")
    }

    // MARK: jobs

    func jobList() async throws -> [String: Any] {
        let jobs = jobs
        let page = try await AdminAPI.blocking { try jobs.jobs(limit: 50) }
        return ["rows": page.jobs.map(Console.jobValues)]
    }

    static func jobValues(_ job: JobRecord) -> [String: Any] {
        ["id": job.id, "kind": job.kind.rawValue, "state": job.state.rawValue, "startedBy": Shown.text(job.startedBy),
         "createdAt": Shown.text(job.createdAt), "finishedAt": Shown.text(job.finishedAt), "total": job.total,
         "handled": job.handled, "ok": job.ok, "failed": job.failed, "skipped": job.skipped,
         "percent": job.total == 0 ? 100 : job.handled * 100 / job.total, "cancelRequested": job.cancelRequested,
         "error": Shown.text(job.error.map { "\($0.title): \($0.detail)" }), "hasError": job.error != nil, "changeSet": job.changeSet.map { $0 as Any } ?? false]
    }

    /// A job and its first 100 items; `running` while it is queued or running (the page then reloads itself).
    func job(_ id: String) async throws -> ([String: Any], Bool) {
        let jobs = jobs
        let (job, items) = try await AdminAPI.blocking {
            let job = try jobs.job(named: id)
            return (job, try jobs.items(of: job.id, limit: 100).items)
        }
        var values = Console.jobValues(job)
        values["running"] = !job.state.isFinal
        values["items"] = items.map { item -> [String: Any] in
            ["target": Shown.text(item.target), "outcome": item.outcome.rawValue, "detail": Shown.text(item.detail),
             "at": Shown.text(item.at), "address": Shown.text(item.address)]
        }
        return (values, !job.state.isFinal)
    }
}

/// A change's result as the console carries it out of the writer's turn: a dry run's blast radius, or the
/// written change set.
enum ConsoleOutcome: Sendable {
    case dryRun(BlastRadius)
    case written(Int?)
}

/// A dry run's report as the console shows it: the devices whose profile would change grouped by identical
/// change (the engine's grouping), and those that would no longer render, with the reason.
struct BlastRadius: Sendable {
    var checked: Int
    var changed: Int
    var groups: [(macs: [String], changes: [(name: String, old: String, new: String)])]
    var breaking: [AdminError.Problem]

    init(_ report: DryRunReport) {
        checked = report.checked
        changed = report.changed
        groups = report.groups.map { group in (group.macs.map(\.hex), group.changes.map { (name: $0.0, old: $0.1, new: $0.2) }) }
        breaking = report.breaking
    }

    var values: [String: Any] {
        [
            "checked": checked, "changed": changed, "breaks": !breaking.isEmpty, "breakCount": breaking.count,
            "groups": groups.map { group -> [String: Any] in
                ["count": group.macs.count, "macs": group.macs.prefix(20).map { ["mac": $0] },
                 "more": group.macs.count > 20 ? (group.macs.count - 20) as Any : false,
                 "changes": group.changes.map { ["name": Shown.text($0.name), "old": Shown.text($0.old), "new": Shown.text($0.new)] }]
            },
            "grouped": AdminError.Problem.grouped(breaking).map(Shown.text),
            "breaking": breaking.prefix(200).map { ["mac": Shown.text($0.mac), "rule": Shown.text($0.rule)] },
        ]
    }
}
