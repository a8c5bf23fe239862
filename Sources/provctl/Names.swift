import ArgumentParser
import Provisioning
import ProvisioningAdmin

/// Checks `--serial`, `--model` and `--group` values (empty allowed where it clears the field): `DeviceEditor.checkFields`.
func checkDeviceFieldValues(_ fields: [(field: String, option: String, value: String?)], allowEmpty: Bool = false) throws {
    try DeviceEditor.checkFields(fields.map { ($0.field, $0.option, $0.value) }, allowEmpty: allowEmpty)
}

/// Warns when a model or group name is new to the database (`AdminSession.warnIfNew`).
func warnIfNew(_ kind: String, _ names: some Sequence<String>, in store: ConfigurationEditor) throws {
    try AdminSession.provctl().warnIfNew(kind, names, in: store)
}

/// The checks a scope gets before something is stored at it (`AdminSession.checkTargetScope`).
func checkTargetScope(_ scope: Scope, in store: ConfigurationEditor) throws {
    try AdminSession.provctl().checkTargetScope(scope, in: store)
}

/// `provctl groups` and `provctl models`: every name in use with its device, setting and variable counts.
func listScopeNames(kind: String, store: StoreOptions, json: Bool) throws {
    let uses = try store.open().scopeNames(kind: kind)
    var table = Table(kind.uppercased(), "DEVICES", "SETTINGS", "VARIABLES")
    for use in uses { table.append([use.name, String(use.devices), String(use.settings), String(use.variables)]) }
    Output.emit(ListResult(table: table, listing: ScopeNameListing(uses: uses)), json: json)
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

/// Refuses new names that look like typos (`AdminSession.refuseLikelyTypos`) unless `--new-name`.
func refuseLikelyTypos(_ kind: String, _ new: [String], known: [String]) throws {
    try AdminSession.provctl().refuseLikelyTypos(kind, new, known: known)
}

/// The engine's listing of names (`[ScopeNameUse].json`) for `ListResult`.
struct ScopeNameListing: JSONRepresentable {
    var uses: [ScopeNameUse]
    var json: JSON { uses.json }
}
