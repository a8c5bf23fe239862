import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct ImportProfile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-profile",
        abstract: "Store the parameters of an existing Cisco cfg.xml or flat-profile at a scope.",
        discussion: """
            Reads <flat-profile>...</flat-profile> or <device><flat-profile>...</flat-profile></device> (libxml2; no \
            network, no external entities). Each child element is a parameter: its text, trimmed as the phone \
            trims it, is the value and its ua="na|ro|rw" is kept. A block of elements (the adapters' \
            <router-configuration> and its sections) is kept as one parameter per leaf, named by its path \
            (router-configuration/Time_Setup/Time_Server; repeated elements of a block get [1], [2], ...), and \
            rendered back nested in place.
            An element written empty keeps its intent (Cisco's provisioning guides): <X></X>, or blank, or holding \
            only a comment, sets the phone's value to empty and is rendered <X></X>; <X/> leaves the phone's value \
            as it is and is rendered <X/>. What phones read although XML forbids it is imported with a warning \
            naming the line: a comment containing --, white space before <?xml, an encoding declaration that \
            disagrees with UTF-8 bytes (the bytes win, as on the phone).
            A file phones run is evidence: a value outside what the guides say, an unknown or misspelt ua, a \
            repeated name (the last is kept, as the phone keeps it), a name the catalogue does not know, text or \
            attributes that are no parameter: each is imported with a warning naming the line and the rule. Only \
            what cannot be stored or served refuses the file: XML that does not parse (every error is listed), a \
            name XML cannot carry, a character XML forbids. --strict refuses the file on any warning too. A \
            refused file writes nothing.
            Example: provctl import-profile spa-template.xml --scope model:CP-8841-3PCC --dry-run
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The XML file.") var file: String
    @Option(help: "default, model:NAME, group:NAME or device:MAC.") var scope: String
    @Flag(help: "Refuse the file when anything in it is warned about (nothing is written).") var strict = false

    func validate() throws { _ = try parseScope(scope) }

    func run() throws {
        let scope = try parseScope(scope)
        let bytes = try readFile(file)
        let document = try FlatProfileFile.read(bytes, name: file)
        let checked = ImportedProfile(document, file: file, scope: scope)
        for warning in checked.warnings { warn("provctl: warning: \(warning)") }
        if !checked.problems.isEmpty {
            throw Failure(.refused, "refused: \(file): \(checked.problems.count) parameter(s) cannot be stored; nothing written:\n"
                          + checked.problems.map { "  \($0)" }.joined(separator: "\n"))
        }
        if strict && !checked.warnings.isEmpty {
            throw Failure(.refused, "refused: \(file): --strict and \(checked.warnings.count) warning(s) above; nothing written")
        }
        if let warning = checked.onePhoneWarning(scope: scope, bytes: bytes) { warn("provctl: warning: " + warning) }
        let opened = try store.open()
        try checkTargetScope(scope, in: opened)
        var changed = 0
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { try .scope(scope, in: opened) }) { audit in
            for setting in checked.settings {
                let old = try opened.setting(scope: scope, name: setting.name)
                guard old != setting else { continue }
                try opened.set(setting)
                try audit.record("import-profile", target: "\(scope) \(setting.name)", old: auditValue(old), new: auditValue(setting))
                changed += 1
            }
        }
        Output.emit(ChangeResult(action: "import-profile", message: "imported \(checked.settings.count) parameter(s) at \(scope) from \(file): \(changed) changed"
                                 + (checked.warnings.isEmpty ? "" : ", \(checked.warnings.count) warning(s)"), count: changed,
                                 fields: [("scope", .string(scope.description)), ("parameters", .int(checked.settings.count)),
                                          ("history", .array(ids.map(JSON.int)))]), json: output.json)
    }
}
