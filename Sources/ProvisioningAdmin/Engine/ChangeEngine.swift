public import Provisioning

/// The devices a change can alter: every device, or some.
public enum Reach: Sendable {
    case every
    case some(Set<MACAddress>)

    /// The devices a setting or variable at `scope` reaches.
    public static func scope(_ scope: Scope, in store: ConfigurationEditor) throws -> Reach {
        try store.macs(reachedBy: scope).map { .some(Set($0)) } ?? .every
    }

    public func union(_ other: Reach) -> Reach {
        switch (self, other) {
        case (.some(let a), .some(let b)): .some(a.union(b))
        default: .every
        }
    }
}

/// Writes audit rows inside a change's transaction, and keeps their ids (what a revert takes). Values must be
/// masked already.
public final class AuditRecorder {
    public let store: ConfigurationEditor
    public let who: String
    public let now = ConfigurationEditor.now()
    public private(set) var ids: [Int] = []
    /// The change set the entries joined (the first entry's id), nil before any.
    public var changeSet: Int? { store.changeSet }

    public init(store: ConfigurationEditor, who: String) {
        self.store = store
        self.who = who
    }

    public func record(_ action: String, target: String?, old: String?, new: String?) throws {
        ids.append(try store.audit(who: who, action: action, target: target, old: old, new: new, now: now))
    }

    /// An id written by a statement of the caller's own (`import`).
    public func note(_ id: Int) { ids.append(id) }
}

/// What a change came to: written (its audit ids and change set), or, for a dry run, the report of what it
/// would do (nothing was written).
public enum ChangeOutcome {
    case written(ids: [Int], changeSet: Int?)
    case dryRun(DryRunReport)
}

/// A change's result: the summary of what was written, or a dry run's report.
public enum Edited<Summary> {
    case written(Summary)
    case dryRun(DryRunReport)
}

/// How a change is run: `dryRun` rolls it back after the report; `force` writes even when devices that render
/// today would no longer render; `showDiff` puts every device's diff in a dry run's report.
public struct ChangeMode: Sendable {
    public var dryRun: Bool
    public var force: Bool
    public var showDiff: Bool

    public init(dryRun: Bool = false, force: Bool = false, showDiff: Bool = false) {
        self.dryRun = dryRun
        self.force = force
        self.showDiff = showDiff
    }
}

/// Runs one change in a transaction with its audit rows. Before the commit it renders every device the change
/// reaches and refuses the change (`AdminError(.breaks)`, rolled back) when one that rendered before would no
/// longer render, unless `force`, then writes the expected profile hashes of the devices the change altered
/// (`ExpectedProfiles.refresh`), in the same transaction. With a dry run the transaction is always rolled back, after the reached devices
/// were rendered before and after and the differences reported, grouped by identical change.
public struct ChangeEngine {
    public let store: ConfigurationEditor
    public let session: AdminSession
    public let mode: ChangeMode
    var disclosure: Disclosure { session.disclosure }
    var showDiff: Bool { mode.showDiff }

    public init(store: ConfigurationEditor, session: AdminSession, mode: ChangeMode) {
        self.store = store
        self.session = session
        self.mode = mode
    }

    /// Runs `body`; `reach` names the devices whose profile may change, asked before and after `body`.
    public func run(reach: () throws -> Reach, _ body: (AuditRecorder) throws -> Void) throws -> ChangeOutcome {
        let recorder = AuditRecorder(store: store, who: session.who)
        try store.beginWriting()
        var committed = false
        defer { if !committed { store.rollBack() } }
        // Rows written outside provctl (sqlite3, a generator) belong to no entry: the entries this change writes
        // undo only what it wrote.
        try store.startUndoRange()
        // One command, one change set: its entries share one ID (history, revert).
        store.startChangeSet()
        let reachedBefore = try reach()
        if mode.dryRun {
            try body(recorder)
            return .dryRun(try dryRunReport(reached: reachedBefore.union(try reach())))
        }
        try body(recorder)
        try refuseBreakage(reached: reachedBefore.union(try reach()))
        // The expected hashes of the devices the change reached (its triggers noted them), in its transaction.
        try ExpectedProfiles.refresh(store)
        try store.commit()
        committed = true
        return .written(ids: recorder.ids, changeSet: store.changeSet)
    }

    /// The devices that render badly after the change but rendered (or did not exist, or were not served) before:
    /// those are refused unless `force`. Only devices that fail now are rendered again, on a second connection
    /// that still sees the database as committed.
    func refuseBreakage(reached: Reach) throws {
        let renderer = try ProfileRenderer(store: store, cachesSharedLayers: true)
        var failing: [(Device, String)] = []
        func visit(_ device: Device) {
            guard device.enabled, let problem = deviceProblems(renderer, device, disclosure: disclosure).first else { return }
            failing.append((device, problem))
        }
        switch reached {
        case .every: try renderer.forEachDevice(visit)
        case .some(let macs):
            for mac in macs.sorted() { if let device = try renderer.device(mac: mac) { visit(device) } }
        }
        guard !failing.isEmpty else { return }
        let committed = try ConfigurationEditor(path: store.database.path, mode: .readOnly)
        let before = try ProfileRenderer(store: committed, cachesSharedLayers: true)
        var breaking: [AdminError.Problem] = []
        for (device, problem) in failing {
            if let old = try before.device(mac: device.mac), old.enabled,
               !deviceProblems(before, old, disclosure: disclosure).isEmpty { continue }
            breaking.append(AdminError.Problem(mac: device.mac.hex, rule: problem))
        }
        guard !breaking.isEmpty else { return }
        if mode.force {
            for problem in breaking { session.warn("--force: \(problem.mac ?? ""): \(problem.rule)") }
            return
        }
        throw AdminError(.breaks, "refused: \(breaking.count) device(s) would no longer render (their phones would get "
                         + "500); nothing written. Fix the cause, or --force", rule: "every reached device must render",
                         problems: breaking)
    }

    /// One device's view: its fields and parameters (exact and as they may be shown), or why it cannot render.
    public struct View {
        var fields: [(name: String, exact: String, shown: String)]
        var parameters: [String: (exact: String, shown: String, ua: String?)]
        /// Per parameter whose value holds {{variables}}: its template, masked (a templated change is one group).
        var templates: [String: String] = [:]
        var problem: String?
        /// What a full diff shows: the fields line and the profile, masked.
        var shownText: [UInt8]

        func same(as other: View) -> Bool {
            fields.map(\.exact) == other.fields.map(\.exact) && problem == other.problem
                && parameters.count == other.parameters.count
                && parameters.allSatisfy { other.parameters[$0.key]?.exact == $0.value.exact && other.parameters[$0.key]?.ua == $0.value.ua }
        }

        var lines: [String] {
            shownText.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// The dry run's report, the change applied but not committed: every reached device rendered as it is
    /// committed (a second, read-only connection) and as the change leaves it (this transaction), one device at a
    /// time, so that memory holds the groups and not the fleet's profiles (a change at the default scope reaches
    /// every device).
    func dryRunReport(reached: Reach) throws -> DryRunReport {
        let committed = try ConfigurationEditor(path: store.database.path, mode: .readOnly)
        let before = try ProfileRenderer(store: committed, cachesSharedLayers: true)
        let after = try ProfileRenderer(store: store, cachesSharedLayers: true)
        var tally = DryRunTally(engine: self)
        func visit(_ mac: MACAddress) throws {
            let old = try before.device(mac: mac).map { view(before, $0) }
            let new = try after.device(mac: mac).map { view(after, $0) }
            tally.add(mac, old: old, new: new)
        }
        switch reached {
        case .every:
            // The devices of both sides, in MAC order (a merge of the two sorted lists).
            func macs(_ renderer: ProfileRenderer) throws -> [MACAddress] {
                var list: [MACAddress] = []
                try renderer.forEachDevice { list.append($0.mac) }
                return list
            }
            let old = try macs(before), new = try macs(after)
            var i = 0, j = 0
            while i < old.count || j < new.count {
                if j == new.count || (i < old.count && old[i].hex < new[j].hex) {
                    try visit(old[i]); i += 1
                } else if i == old.count || new[j].hex < old[i].hex {
                    try visit(new[j]); j += 1
                } else {
                    try visit(old[i]); i += 1; j += 1
                }
            }
        case .some(let macs):
            for mac in macs.sorted(by: { $0.hex < $1.hex }) { try visit(mac) }
        }
        return tally.report
    }

    public func view(_ renderer: ProfileRenderer, _ device: Device) -> View {
        var key = ("-", "-")
        if case .aes256cbc(let secret, _) = device.encryption { key = (secret, disclosure.shown(key: secret) ?? "-") }
        let kdf: String = if case .aes256cbc(_, let digest) = device.encryption { digest.rawValue } else { "-" }
        let fields: [(String, String)] = [
            ("serial", device.serial ?? "-"), ("model", device.model ?? "-"), ("group", device.group ?? "-"),
            ("enabled", device.enabled ? "yes" : "no"), ("gzip", device.gzip ? "yes" : "no"),
            ("encryption", device.encryption.name), ("kdf", kdf),
        ]
        var view = View(fields: fields.map { ($0.0, $0.1, $0.1) } + [("key", key.0, key.1)], parameters: [:],
                        problem: nil, shownText: Array(("# device " + describe(device, showSecrets: disclosure.showSecrets) + "\n").utf8))
        do {
            let parameters = try renderer.parameters(for: device)
            var masked = parameters
            for index in masked.indices {
                let shown = disclosure.shown(name: masked[index].name, value: masked[index].value)
                // An empty value's intent is part of what the phone gets (`<X></X>` or `<X/>`).
                let form = masked[index].value.isEmpty ? "(\(intentWord(masked[index].intent)))" : nil
                view.parameters[masked[index].name] = (masked[index].value + (form.map { "\u{0}" + $0 } ?? ""), form ?? shown,
                                                       masked[index].access?.rawValue)
                if ParameterRules.holdsVariables(masked[index].template) {
                    view.templates[masked[index].name] = disclosure.shown(name: masked[index].name, value: masked[index].template)
                }
                masked[index].value = shown
            }
            view.shownText += FlatProfile.render(masked)
            view.problem = deviceProblems(renderer, device, disclosure: disclosure, parameters: parameters).first
        } catch {
            view.problem = renderProblem(error)
            view.shownText += Array("! cannot render: \(view.problem ?? "")".utf8)
        }
        return view
    }

    /// What changes between two views of a device, as (what, old, new) shown; a secret that changes but shows
    /// the same is marked.
    public func changes(_ old: View?, _ new: View?) -> [(String, String, String)] {
        guard let old else { return [("device", "(none)", "added")] }
        guard let new else { return [("device", "present", "removed")] }
        var out: [(String, String, String)] = []
        for (a, b) in zip(old.fields, new.fields) where a.exact != b.exact {
            out.append((a.name, a.shown, a.shown == b.shown ? b.shown + " (secret changed)" : b.shown))
        }
        // A device that would no longer render: that is the change (its cause groups the devices), not every
        // parameter going to (unset).
        if new.problem != nil && new.parameters.isEmpty {
            out.append(("renders", old.problem.map { "no: " + $0 } ?? "yes", "no: " + new.problem!))
            return out
        }
        for name in Set(old.parameters.keys).union(new.parameters.keys).sorted() {
            let a = old.parameters[name], b = new.parameters[name]
            guard a?.exact != b?.exact || a?.ua != b?.ua else { continue }
            func shown(_ p: (exact: String, shown: String, ua: String?)?) -> String {
                guard let p else { return "(unset)" }
                return p.shown + (p.ua.map { " [ua=\($0)]" } ?? "")
            }
            // A templated value that changes its template is shown as the template, so that every device it
            // reaches is one group (--diff shows each device's values).
            let ta = old.templates[name], tb = new.templates[name]
            if ta != tb, ta != nil || tb != nil {
                out.append((name, ta ?? shown(a), (tb ?? shown(b)) + (tb == nil ? "" : " (per device)")))
                continue
            }
            var newText = shown(b)
            if shown(a) == newText { newText += " (secret changed)" }
            out.append((name, shown(a), newText))
        }
        if old.problem != new.problem {
            out.append(("renders", old.problem.map { "no: " + $0 } ?? "yes", new.problem.map { "no: " + $0 } ?? "yes"))
        }
        return out
    }
}

/// A dry run's report, built one device at a time: the devices grouped by identical change (in MAC order), the
/// ones that would break, and with --diff each one's diff.
struct DryRunTally {
    let engine: ChangeEngine
    var index: [[String]: Int] = [:]
    var groups: [(changes: [(String, String, String)], macs: [MACAddress])] = []
    var diffs: [(MACAddress, String)] = []
    var breaking: [AdminError.Problem] = []
    var checked = 0

    init(engine: ChangeEngine) { self.engine = engine }

    mutating func add(_ mac: MACAddress, old: ChangeEngine.View?, new: ChangeEngine.View?) {
        guard old != nil || new != nil else { return }
        checked += 1
        if let old, let new, old.same(as: new) { return }
        let list = engine.changes(old, new)
        let key = list.map { "\($0.0)\u{0}\($0.1)\u{0}\($0.2)" }
        if let at = index[key] {
            groups[at].macs.append(mac)
        } else {
            index[key] = groups.count
            groups.append((list, [mac]))
        }
        if let new, let problem = new.problem, new.fields[3].exact == "yes",
           old == nil || old!.problem == nil || old!.fields[3].exact == "no" {
            breaking.append(AdminError.Problem(mac: mac.hex, rule: problem))
        }
        if engine.showDiff {
            var diff = UnifiedDiff.render(old: old?.lines ?? [], new: new?.lines ?? [],
                                          oldName: old == nil ? "/dev/null" : "\(mac) (now)",
                                          newName: new == nil ? "/dev/null" : "\(mac) (after)")
            if diff.isEmpty { diff = "  (only secret values change; --show-secrets shows them)\n" }
            diffs.append((mac, diff))
        }
    }

    var report: DryRunReport {
        DryRunReport(checked: checked, changed: groups.reduce(0) { $0 + $1.macs.count }, groups: groups, diffs: diffs,
                     breaking: breaking, showDiff: engine.showDiff)
    }
}

/// A dry run's report: the changes grouped by identical change, the devices that would break, and with --diff
/// every device's diff.
public struct DryRunReport: JSONRepresentable {
    public var checked: Int
    public var changed: Int
    public var groups: [(changes: [(String, String, String)], macs: [MACAddress])]
    public var diffs: [(MACAddress, String)]
    public var breaking: [AdminError.Problem]
    public var showDiff: Bool

    public var json: JSON {
        var pairs: [(String, JSON)] = [
            ("dry_run", .bool(true)), ("devices_checked", .int(checked)), ("devices_changed", .int(changed)),
            ("groups", .array(groups.map { group in
                .object([("count", .int(group.macs.count)), ("macs", .array(group.macs.map { .string($0.hex) })),
                         ("changes", .array(group.changes.map {
                             .object([("name", .string($0.0)), ("old", .string($0.1)), ("new", .string($0.2))])
                         }))])
            })),
            ("would_break", .array(breaking.map(\.json))),
        ]
        // With --diff every device's diff; null without (the key is always there).
        pairs.append(("changed", showDiff ? .array(diffs.map { .object([("mac", .string($0.0.hex)), ("diff", .string($0.1))]) }) : .null))
        return .object(pairs)
    }

    public var text: String {
        var out = ""
        if showDiff {
            for (mac, diff) in diffs { out += "device \(mac) would change:\n" + diff }
        } else {
            for group in groups {
                let count = group.macs.count
                var head = "\(count) device\(count == 1 ? "" : "s")"
                head += " (" + group.macs.prefix(3).map(\.hex).joined(separator: ", ") + (count > 3 ? ", ..." : "") + ")"
                let lines = group.changes.map { "\($0.0) \($0.1) → \($0.2)" }
                out += lines.count == 1 ? head + ": " + lines[0] + "\n" : head + ":\n" + lines.map { "  " + $0 + "\n" }.joined()
            }
        }
        if !breaking.isEmpty {
            out += "would no longer render (their phones would get 500):\n" + AdminError.Problem.grouped(breaking).map { "  " + $0 + "\n" }.joined()
        }
        out += "dry run: \(changed) of \(checked) reached device(s) would change; nothing written"
        return out
    }

    /// The error a dry run ends with, its report already given: `.breaks` when a device would no longer render,
    /// `.wouldChange` when a profile would change, else `.nothingWritten` (exit 0, no message).
    public var failure: AdminError {
        var failure: AdminError
        if !breaking.isEmpty {
            failure = AdminError(.breaks, "dry run: \(breaking.count) device(s) would no longer render", problems: breaking)
        } else if changed > 0 {
            failure = AdminError(.wouldChange, "dry run: \(changed) device profile(s) would change")
        } else {
            failure = AdminError(.nothingWritten, "")
        }
        failure.reported = true
        return failure
    }
}

/// Why a device's profile cannot be served as it should: it cannot be rendered (an undefined variable, a loop),
/// or a value resolved from {{variables}} breaks its parameter's rule. Empty when it renders.
public func deviceProblems(_ renderer: ProfileRenderer, _ device: Device, disclosure: Disclosure,
                    parameters given: [ResolvedParameter]? = nil) -> [String] {
    let parameters: [ResolvedParameter]
    if let given {
        parameters = given
    } else {
        do {
            parameters = try renderer.parameters(for: device)
        } catch {
            return ["cannot render: \(renderProblem(error))"]
        }
    }
    var problems: [String] = []
    for parameter in parameters where ParameterRules.holdsVariables(parameter.template) {
        var stored = parameter.value, warnings: [String] = []
        do {
            try ParameterRules.checkTyped(name: parameter.name, value: parameter.value, stored: &stored, warnings: &warnings)
        } catch {
            let shown = disclosure.shown(name: parameter.name, value: parameter.value)
            problems.append("\(parameter.name) from \(parameter.scope) resolves to \"\(shown)\": \(error.rule)")
        }
    }
    return problems
}

/// A device as one line for the audit log and dry-run headers: the key masked unless `showSecrets`.
public func describe(_ device: Device, showSecrets: Bool = false) -> String {
    var parts = ["mac=\(device.mac)"]
    parts.append("serial=\(device.serial ?? "-")")
    parts.append("model=\(device.model ?? "-")")
    parts.append("group=\(device.group ?? "-")")
    parts.append("enabled=\(device.enabled ? "yes" : "no")")
    parts.append("gzip=\(device.gzip ? "yes" : "no")")
    switch device.encryption {
    case .none: parts.append("encryption=none")
    case .aes256cbc(let key, let digest):
        parts.append("encryption=aes-256-cbc key=\(showSecrets ? key : Secrets.mask) kdf=\(digest.rawValue)")
    case .aes128gcm(let key):
        parts.append("encryption=aes128gcm key=\(showSecrets ? key.ikm : Secrets.mask) key-id=\(key.keyID.isEmpty ? "-" : key.keyID)"
                     + " record-size=\(key.recordSize)")
    }
    if let account = device.account {
        // The HA1 changes with the password: a change shows as a new mask, never as the hash.
        parts.append("account=\(account.user) realm=\(account.realm) password=\(showSecrets ? account.ha1 : Secrets.mask)")
    }
    if device.bootstrap != .none { parts.append("bootstrap=\(device.bootstrap.rawValue)") }
    return parts.joined(separator: " ")
}

/// Why a profile could not be rendered, in one line without secrets.
public func renderProblem(_ error: any Error) -> String {
    if let refusal = (error as? any Refusing)?.refusal { return refusal.detail ?? refusal.reason }
    if let error = error as? RenderError, case .encoding(.noKey) = error { return "no encryption configured" }
    return "\(error)"
}

