import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// `provctl expect`: expected devices (an order list) and adoption rules, for zero-touch onboarding.
struct ExpectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expect",
        abstract: "Expected devices and adoption rules: phones served on their first contact (zero-touch).",
        discussion: """
            A phone whose verified certificate matches an expected entry (its MAC; or, for an entry without a \
            MAC, its serial together with its product) or an adoption rule (serial prefix and/or product) is \
            served its profile on its first request, as the device the entry describes; provctl expect promote \
            (also run by expect list, claims, and the admin daemon every few seconds) then makes it a device, \
            with the history entry `onboarding`. A phone whose MAC (or serial) is expected with another serial \
            or product is not served: it stays a claim, with the reason (provctl claims).
            Examples: provctl expect import orders.csv --dry-run
                      provctl expect list
                      provctl expect remove 000e08abcdef
                      provctl expect rule-add --serial-prefix FCH21 --product CP-8841-3PCC --group sales
            """,
        subcommands: [ExpectImport.self, ExpectList.self, ExpectRemove.self, ExpectPromote.self, ExpectRules.self, ExpectRuleAdd.self]
    )
}

struct ExpectImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add or replace expected devices from an order list (CSV): every bad row reported, all or nothing.",
        discussion: """
            RFC 4180 CSV in UTF-8 as for provctl import (delimiter , ; or tab found from the header line, or \
            --delimiter). Columns, in any order:
              mac        any spelling; each MAC at most once; not a device's
              serial     the certificate's serial (L=, or SN: in serialNumber); a line without a mac is matched \
            by its serial and model together
              model      the product (CP-8841-3PCC; CP-8841 and CP-8841-3PCC-K9= are the same product) and the \
            device's model scope
              group      the group the device joins
              variables  name=value;name=value (\\; and \\\\ inside a value), or var:NAME columns
            A line needs a mac, or a serial with its model. A known MAC (or serial) replaces its entry. Every line \
            is checked before anything is written and every bad line reported (line, column, rule); a --dry-run \
            prints the counts and the preview by model and group and writes nothing.
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Check the list and print the preview; write nothing.") var dryRun = false
    @Argument(help: "The CSV file ('-' for stdin).") var file: String
    @Option(help: "The field delimiter: , ; or tab (default: found from the header line).") var delimiter: String?

    func validate() throws {
        if let delimiter, DeviceImport.delimiterByte(delimiter) == nil {
            throw ValidationError("--delimiter: \"\(delimiter)\" must be , ; or tab")
        }
    }

    func run() throws {
        let bytes = file == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile()) : try readFile(file)
        let parsed = try ExpectedDevices.rows(DeviceImport.records(bytes, delimiter: delimiter.flatMap(DeviceImport.delimiterByte)))
        let opened = try store.open()
        let result = try ExpectedDevices.importRows(parsed, file: file, store: opened, session: .provctl(showSecrets: output.showSecrets),
                                                    mode: ChangeMode(dryRun: dryRun))
        Output.emit(ValueResult(json: result.json, text: result.text), json: output.json)
    }
}

struct ExpectList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the expected devices not yet onboarded (after promoting those that were served).")

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let opened = try store.open()
        let session = AdminSession.provctl(showSecrets: output.showSecrets)
        try Onboarding.promote(store: opened, session: session)
        let items = try ExpectedDevices.page(opened, after: nil, limit: Int(Int32.max), session: session).items
        if output.json {
            printJSON(.array(items))
            return
        }
        var table = Table("ID", "SERIAL", "MODEL", "GROUP", "VARIABLES", "ADDED")
        for case .object(let pairs) in items {
            func field(_ name: String) -> String? {
                guard let value = pairs.first(where: { $0.0 == name })?.1 else { return nil }
                switch value {
                case .string(let text): return text
                case .object(let members): return members.map { name, value in
                    if case .string(let text) = value { return name + "=" + text }
                    return name
                }.joined(separator: ";")
                default: return nil
                }
            }
            table.append([field("id"), field("serial"), field("model"), field("group"), field("variables"), field("added_at")])
        }
        table.print()
    }
}

struct ExpectRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove expected devices or adoption rules: a MAC, a serial, or an ID as listed (rule:000001).")

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Show what would be removed; write nothing.") var dryRun = false
    @Argument(help: "MACs, serials or IDs.") var ids: [String]

    func validate() throws {
        if ids.isEmpty { throw ValidationError("give at least one MAC, serial or ID") }
    }

    func run() throws {
        let opened = try store.open()
        let keys = ids.map { $0.hasPrefix("rule:") ? $0 : ExpectedDevices.key(naming: $0) }
        try emit(ExpectedDevices.remove(keys: keys, store: opened, session: .provctl(showSecrets: output.showSecrets),
                                        mode: ChangeMode(dryRun: dryRun)), json: output.json)
    }
}

struct ExpectPromote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Make devices of the phones served from an expected entry or a rule (history entry `onboarding`).")

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: JSONOption

    func run() throws {
        let promoted = try Onboarding.promote(store: try store.open(), session: .provctl())
        let text = promoted.isEmpty ? "nothing to promote"
            : promoted.map { "\($0.mac): onboarded from \($0.key)" }.joined(separator: "\n")
        Output.emit(ValueResult(json: .object([("ok", .bool(true)), ("promoted", .array(promoted.map(\.json)))]), text: text),
                    json: output.json)
    }
}

struct ExpectRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List the adoption rules, in the order they are tried.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: JSONOption

    func run() throws {
        let json = try ExpectedDevices.rulesJSON(try store.open())
        if output.json {
            printJSON(json)
            return
        }
        var table = Table("ID", "SERIAL PREFIX", "PRODUCT", "GROUP")
        if case .array(let rules) = json {
            for case .object(let pairs) in rules {
                table.append(pairs.map { pair -> String? in
                    if case .string(let text) = pair.1 { return text }
                    return nil
                })
            }
        }
        table.print()
    }
}

struct ExpectRuleAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rule-add",
        abstract: "Add an adoption rule: a proven certificate with this serial prefix and/or product joins GROUP.",
        discussion: "Rules are tried in the order they were added, after the expected entries; remove one with provctl expect remove rule:NNNNNN."
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Show what would be added; write nothing.") var dryRun = false
    @Option(help: "The serial's first characters (case ignored).") var serialPrefix: String?
    @Option(help: "The product (CP-8841-3PCC; any spelling of the same product).") var product: String?
    @Option(help: "The group the device joins.", completion: .custom(Completion.groups)) var group: String

    func run() throws {
        try emit(ExpectedDevices.addRule(serialPrefix: serialPrefix, product: product, group: group, store: try store.open(),
                                         session: .provctl(), mode: ChangeMode(dryRun: dryRun)), json: output.json)
    }
}
