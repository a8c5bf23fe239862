import ArgumentParser
import Provisioning

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set parameters at a scope.",
        discussion: """
            SCOPE is default, model:NAME, group:NAME or device:MAC. Values may use {{variables}} and phone macros \
            ($MA, $PSN, ...). Each value is checked against its rule (seconds lists, Resync_At__HHmm_, ranges, \
            Yes/No booleans (yes/YES are stored as Yes), Privacy_Header_N_, Profile_Rule/Upgrade_Rule syntax, \
            characters XML forbids); a value with {{variables}} is checked per device by `provctl check`. \
            Names the Cisco guides do not list are stored with a warning. Without --ua an existing ua is kept.
            Example: provctl set default Resync_Periodic=3600 \
            'Profile_Rule=[--key {{profile_key}}] https://prov.example.com/cgi-bin/profile/$MA.cfg' --ua na
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "default, model:NAME, group:NAME or device:MAC.") var scope: String
    @Argument(help: "NAME=VALUE pairs.") var assignments: [String]
    @Option(help: "The phone's ua attribute for these parameters: na, ro or rw.") var ua: String?

    func validate() throws {
        _ = try parseScope(scope)
        if let ua, UserAccess(rawValue: ua) == nil { throw ValidationError("--ua: \"\(ua)\" must be na, ro or rw") }
        if assignments.isEmpty { throw ValidationError("give at least one NAME=VALUE") }
        for assignment in assignments { _ = try splitAssignment(assignment) }
    }

    func run() throws {
        let scope = try parseScope(scope)
        let access = ua.flatMap(UserAccess.init)
        // Every value is checked before anything is written.
        let checked = try assignments.map { assignment -> (String, String) in
            let (name, value) = try splitAssignment(assignment)
            return (name, try checkedSetting(name: name, value: value))
        }
        let opened = try store.open()
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { try .scope(scope, in: opened) }) { audit in
            for (name, value) in checked {
                let old = try opened.setting(scope: scope, name: name)
                let new = Setting(scope: scope, name: name, value: value, access: access ?? old?.access)
                guard new != old else { continue }
                try opened.set(new)
                try audit.record("set", target: "\(scope) \(name)", old: auditValue(old), new: auditValue(new))
            }
        }
        print("set \(checked.count) parameter(s) at \(scope)")
    }
}

struct UnsetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove parameters from a scope (a lower scope's value shows through).",
        discussion: "Example: provctl unset group:sales Resync_Periodic Display_Name_1_ --dry-run"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "default, model:NAME, group:NAME or device:MAC.") var scope: String
    @Argument(help: "Parameter names.") var names: [String]

    func validate() throws {
        _ = try parseScope(scope)
        if names.isEmpty { throw ValidationError("give at least one NAME") }
    }

    func run() throws {
        let scope = try parseScope(scope)
        let opened = try store.open()
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { try .scope(scope, in: opened) }) { audit in
            for name in names {
                guard let old = try opened.setting(scope: scope, name: name) else {
                    throw Failure(.notFound, "\(name): not set at \(scope)")
                }
                try opened.removeSetting(scope: scope, name: name)
                try audit.record("unset", target: "\(scope) \(name)", old: auditValue(old), new: nil)
            }
        }
        print("unset \(names.count) parameter(s) at \(scope)")
    }
}

struct VarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "var",
        abstract: "Set {{variables}} at a scope.",
        discussion: """
            Names are ASCII letters, digits, _ - . (not cert.*, not the server's mac, mac_upper, mac_colon, \
            serial, model, group). A variable is shown masked when its name holds pass, pwd, key, secret or \
            token, or when a secret parameter uses it.
            Example: provctl var group:sales sip_domain=sales.example.com
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "default, model:NAME, group:NAME or device:MAC.") var scope: String
    @Argument(help: "name=value pairs.") var assignments: [String]

    func validate() throws {
        _ = try parseScope(scope)
        if assignments.isEmpty { throw ValidationError("give at least one name=value") }
        for assignment in assignments { _ = try splitAssignment(assignment) }
    }

    func run() throws {
        let scope = try parseScope(scope)
        let pairs = try assignments.map { assignment -> (String, String) in
            let (name, value) = try splitAssignment(assignment)
            try checkVariable(name: name, value: value)
            return (name, value)
        }
        let opened = try store.open()
        let secretNames = try secretVariableNames(opened)
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { try .scope(scope, in: opened) }) { audit in
            for (name, value) in pairs {
                let old = try opened.variable(scope: scope, name: name)
                let new = Variable(scope: scope, name: name, value: value)
                guard new != old else { continue }
                try opened.set(new)
                try audit.record("var", target: "\(scope) {{\(name)}}", old: auditValue(old, secretNames: secretNames),
                                 new: auditValue(new, secretNames: secretNames))
            }
        }
        print("set \(pairs.count) variable(s) at \(scope)")
    }
}

struct UnvarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unvar",
        abstract: "Remove {{variables}} from a scope.",
        discussion: "Example: provctl unvar device:000e08abcdef sip_user --dry-run"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "default, model:NAME, group:NAME or device:MAC.") var scope: String
    @Argument(help: "Variable names.") var names: [String]

    func validate() throws {
        _ = try parseScope(scope)
        if names.isEmpty { throw ValidationError("give at least one name") }
    }

    func run() throws {
        let scope = try parseScope(scope)
        let opened = try store.open()
        let secretNames = try secretVariableNames(opened)
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { try .scope(scope, in: opened) }) { audit in
            for name in names {
                guard let old = try opened.variable(scope: scope, name: name) else {
                    throw Failure(.notFound, "variable \(name): not set at \(scope)")
                }
                try opened.removeVariable(scope: scope, name: name)
                try audit.record("unvar", target: "\(scope) {{\(name)}}", old: auditValue(old, secretNames: secretNames), new: nil)
            }
        }
        print("unset \(names.count) variable(s) at \(scope)")
    }
}
