public import Provisioning

/// The checks a value, a variable and a scope get before anything is stored (ParameterRules, FACTS.md §6), with
/// warnings sent to the session.
extension AdminSession {
    /// The value to store for a parameter after its rules. A broken rule is an `AdminError(.refused)` naming the
    /// parameter, the value (masked when secret) and the rule.
    public func checkedSetting(name: String, value: String, source: String? = nil) throws(AdminError) -> String {
        do {
            let checked = try ParameterRules.check(name: name, value: value, listedValues: true)
            for warning in checked.warnings { warn((source.map { $0 + ": " } ?? "") + warning) }
            return checked.value
        } catch {
            throw AdminError.refused(error, source: source)
        }
    }

    /// Checks a variable's name and value, or fails with `AdminError(.refused)`.
    public func checkVariable(name: String, value: String, source: String? = nil) throws(AdminError) {
        do {
            try ParameterRules.checkVariable(name: name, value: value)
        } catch {
            throw AdminError.refused(error, source: source)
        }
    }

    /// The checks a scope gets before something is stored at it: a device scope must name a device; a new model
    /// or group name is a warning (or refused when it looks like a typo).
    public func checkTargetScope(_ scope: Scope, in store: DeviceStore) throws {
        switch scope {
        case .device(let mac):
            if try store.device(mac: mac) == nil {
                throw AdminError(.notFound, "scope: device:\(mac.hex) is not a device; add it first (provctl device add \(mac.hex))",
                                 field: "scope", rule: "a device scope must name a device")
            }
        case .model(let name): try warnIfNew("model", [name], in: store)
        case .group(let name): try warnIfNew("group", [name], in: store)
        case .all: break
        }
    }

    /// Warns when a model or group name is new to the database: probably a typo, with the closest name in use.
    /// `kind` is "model" or "group".
    public func warnIfNew(_ kind: String, _ names: some Sequence<String>, in store: DeviceStore) throws {
        let wanted = Set(names.filter { !$0.isEmpty })
        guard !wanted.isEmpty else { return }
        let known = try store.scopeNames(kind: kind).map(\.name)
        let knownSet = Set(known)
        let new = wanted.sorted().filter { !knownSet.contains($0) }
        try refuseLikelyTypos(kind, new, known: known)
        // An import that brings a whole site plan is not a typo: one line, not a hundred.
        let typos = new.filter { DeviceFieldRules.suggestion(for: $0, among: known) != nil }
        if new.count > 5 {
            let shown = new.prefix(3).map { "\"\($0)\"" }.joined(separator: ", ")
            warn("\(new.count) \(kind)s are new (\(shown), ...): no device, setting or variable used them before"
                 + (typos.isEmpty ? "" : "; \(typos.count) of them are close to a \(kind) in use: " + typos.prefix(3).joined(separator: ", ")))
            return
        }
        for name in new {
            var line = "\(kind) \"\(name)\" is new: no device, setting or variable uses it yet"
            if let close = DeviceFieldRules.suggestion(for: name, among: known) {
                line += "; did you mean \"\(close)\"?"
            } else if !known.isEmpty {
                line += " (provctl \(kind)s lists those in use)"
            }
            warn(line)
        }
    }

    /// A new name that differs from a known one only by case (`Sales` beside `sales`), or a new model close to a
    /// Cisco product without being one (`CP-8814-3PCC`), is refused unless `acceptNewNames`.
    public func refuseLikelyTypos(_ kind: String, _ new: [String], known: [String]) throws(AdminError) {
        guard !acceptNewNames else { return }
        var problems: [AdminError.Problem] = []
        for name in new {
            if let same = known.first(where: { $0.lowercased() == name.lowercased() }) {
                problems.append(AdminError.Problem(field: kind, value: name, rule: "differs from the \(kind) \"\(same)\" in use only by case"))
                continue
            }
            guard kind == "model" else { continue }
            let upper = name.uppercased()
            let product = upper.hasSuffix("-3PCC") ? String(upper.dropLast(5)) : upper
            if CiscoProducts.names.contains(product) { continue }
            if let close = DeviceFieldRules.suggestion(for: product, among: CiscoProducts.names.sorted()) {
                problems.append(AdminError.Problem(field: kind, value: name, rule: "is no Cisco product, and close to \(close) (\(close)-3PCC?)"))
            }
        }
        guard !problems.isEmpty else { return }
        throw AdminError(.refused, "refused: \(problems.count) new \(kind) name(s) look like typos; nothing written (--new-name if they are meant)",
                         field: kind, rule: "a new name must not differ from a known one only by case, nor be one step from a Cisco product",
                         problems: problems)
    }
}

public enum CiscoProducts {
    /// Cisco's MPP, SPA and ATA products (their datasheets and the MPP admin guides), as a MIC's PID or an admin
    /// writes them without the `-3PCC` suffix: a new model one or two letters away from one of these, and not one
    /// of them, is taken for a typo.
    public static let names: Set<String> = [
        "CP-6821", "CP-6841", "CP-6851", "CP-6861", "CP-6871", "CP-7811", "CP-7821", "CP-7832", "CP-7841", "CP-7861",
        "CP-8811", "CP-8832", "CP-8841", "CP-8845", "CP-8851", "CP-8861", "CP-8865", "CP-8875", "CP-9841", "CP-9851",
        "CP-9861", "CP-9871", "SPA112", "SPA122", "ATA191", "ATA192", "SPA301", "SPA303", "SPA501G", "SPA502G",
        "SPA504G", "SPA508G", "SPA509G", "SPA512G", "SPA514G", "SPA525G", "SPA525G2",
    ]
}

/// A setting as one audit value: the value masked, and its ua.
public func auditValue(_ setting: Setting?) -> String? {
    guard let setting else { return nil }
    return Secrets.mask(name: setting.name, value: setting.value) + (setting.access.map { " [ua=\($0.rawValue)]" } ?? "")
        + (setting.value.isEmpty ? " [\(intentWord(setting.intent))]" : "")
}

/// A variable as one audit value, masked when its name or a secret parameter that uses it says so.
public func auditValue(_ variable: Variable?, secretNames: Set<String>) -> String? {
    guard let variable else { return nil }
    if secretNames.contains(variable.name) { return variable.value.isEmpty ? "" : Secrets.mask }
    return Secrets.mask(variable: variable.name, value: variable.value)
}

/// An empty value's intent in one word: empty, leave, or intent unknown.
public func intentWord(_ intent: EmptyIntent?) -> String {
    switch intent {
    case .empty: "empty"
    case .keep: "leave"
    case nil: "intent unknown"
    }
}

/// How an empty value is shown to the admin: what the phone does with it.
public func intentText(_ intent: EmptyIntent?) -> String {
    switch intent {
    case .empty: "empty: sets the phone's value to empty"
    case .keep: "leave: the phone keeps its own value"
    case nil: "intent unknown: served as leave (<X/>); provctl settle-empty decides"
    }
}

/// The variables whose values feed a secret: a secret parameter (`Password_1_={{sip_pw}}`) or the `--key`/`--pwd`
/// of a rule (`[--key {{profile_key}}] https://...`).
public func secretVariableNames(_ store: DeviceStore) throws -> Set<String> {
    var names: Set<String> = []
    for setting in try store.settings() where ParameterRules.holdsVariables(setting.value) {
        if Secrets.isSecret(setting.name) {
            names.formUnion(Secrets.referencedVariables(in: setting.value))
        } else {
            let masked = Secrets.maskRule(setting.value)
            if masked != setting.value {
                names.formUnion(Set(Secrets.referencedVariables(in: setting.value))
                    .subtracting(Secrets.referencedVariables(in: masked)))
            }
        }
    }
    return names
}
