import ArgumentParser
import Provisioning
import ProvisioningAdmin

/// Checks `--serial`, `--model` and `--group` values (empty allowed where it clears the field).
func checkDeviceFieldValues(_ fields: [(field: String, option: String, value: String?)], allowEmpty: Bool = false) throws {
    for (field, option, value) in fields {
        guard let value, !(allowEmpty && value.isEmpty) else { continue }
        do {
            try DeviceFieldRules.check(field: field, value: value, name: option)
        } catch {
            throw Failure.refused(error)
        }
    }
}

/// Warns when a model or group name is new to the database: probably a typo, with the closest name in use.
/// `kind` is "model" or "group".
func warnIfNew(_ kind: String, _ names: some Sequence<String>, in store: ConfigurationEditor) throws {
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
        warn("provctl: warning: \(new.count) \(kind)s are new (\(shown), ...): no device, setting or variable used them before"
             + (typos.isEmpty ? "" : "; \(typos.count) of them are close to a \(kind) in use: " + typos.prefix(3).joined(separator: ", ")))
        return
    }
    for name in new {
        var line = "provctl: warning: \(kind) \"\(name)\" is new: no device, setting or variable uses it yet"
        if let close = DeviceFieldRules.suggestion(for: name, among: known) {
            line += "; did you mean \"\(close)\"?"
        } else if !known.isEmpty {
            line += " (provctl \(kind)s lists those in use)"
        }
        warn(line)
    }
}

/// The checks a scope gets before something is stored at it: a device scope must name a device; a new model or
/// group name is a warning.
func checkTargetScope(_ scope: Scope, in store: ConfigurationEditor) throws {
    switch scope {
    case .device(let mac):
        if try store.device(mac: mac) == nil {
            throw Failure(.notFound, "scope: device:\(mac.hex) is not a device; add it first (provctl device add \(mac.hex))",
                          field: "scope", rule: "a device scope must name a device")
        }
    case .model(let name): try warnIfNew("model", [name], in: store)
    case .group(let name): try warnIfNew("group", [name], in: store)
    case .all: break
    }
}

/// `provctl groups` and `provctl models`: every name in use with its device, setting and variable counts.
func listScopeNames(kind: String, store: StoreOptions, json: Bool) throws {
    let uses = try store.open().scopeNames(kind: kind)
    var table = Table(kind.uppercased(), "DEVICES", "SETTINGS", "VARIABLES")
    for use in uses { table.append([use.name, String(use.devices), String(use.settings), String(use.variables)]) }
    Output.emit(ListResult(table: table, items: uses.map {
        .object([("name", .string($0.name)), ("devices", .int($0.devices)), ("settings", .int($0.settings)),
                 ("variables", .int($0.variables))])
    }), json: json)
}

struct Groups: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the groups in use: by devices, settings or variables, with how many of each.",
        discussion: "Example: provctl groups --json"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption

    func run() throws { try listScopeNames(kind: "group", store: store, json: format.json) }
}

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the models in use: by devices, settings or variables, with how many of each.",
        discussion: "Example: provctl models"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption

    func run() throws { try listScopeNames(kind: "model", store: store, json: format.json) }
}

/// `--new-name` anywhere on the command line (every change command takes it, `DryRunOption`).
nonisolated(unsafe) var newNamesAccepted = CommandLine.arguments.prefix { $0 != "--" }.contains("--new-name")

/// Cisco's MPP, SPA and ATA products (their datasheets and the MPP admin guides), as a MIC's PID or an admin
/// writes them without the `-3PCC` suffix: a new model one or two letters away from one of these, and not one
/// of them, is taken for a typo.
let ciscoProducts: Set<String> = [
    "CP-6821", "CP-6841", "CP-6851", "CP-6861", "CP-6871", "CP-7811", "CP-7821", "CP-7832", "CP-7841", "CP-7861",
    "CP-8811", "CP-8832", "CP-8841", "CP-8845", "CP-8851", "CP-8861", "CP-8865", "CP-8875", "CP-9841", "CP-9851",
    "CP-9861", "CP-9871", "SPA112", "SPA122", "ATA191", "ATA192", "SPA301", "SPA303", "SPA501G", "SPA502G",
    "SPA504G", "SPA508G", "SPA509G", "SPA512G", "SPA514G", "SPA525G", "SPA525G2",
]

/// A new name that differs from a known one only by case (`Sales` beside `sales`), or a new model close to a
/// Cisco product without being one (`CP-8814-3PCC`), is refused unless `--new-name` says it is meant.
func refuseLikelyTypos(_ kind: String, _ new: [String], known: [String]) throws {
    guard !newNamesAccepted else { return }
    var problems: [Failure.Problem] = []
    for name in new {
        if let same = known.first(where: { $0.lowercased() == name.lowercased() }) {
            problems.append(Failure.Problem(field: kind, value: name, rule: "differs from the \(kind) \"\(same)\" in use only by case"))
            continue
        }
        guard kind == "model" else { continue }
        let upper = name.uppercased()
        let product = upper.hasSuffix("-3PCC") ? String(upper.dropLast(5)) : upper
        if ciscoProducts.contains(product) { continue }
        if let close = DeviceFieldRules.suggestion(for: product, among: ciscoProducts.sorted()) {
            problems.append(Failure.Problem(field: kind, value: name, rule: "is no Cisco product, and close to \(close) (\(close)-3PCC?)"))
        }
    }
    guard !problems.isEmpty else { return }
    throw Failure(.refused, "refused: \(problems.count) new \(kind) name(s) look like typos; nothing written (--new-name if they are meant)",
                  field: kind, rule: "a new name must not differ from a known one only by case, nor be one step from a Cisco product",
                  problems: problems)
}
