import ArgumentParser
import Provisioning

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set parameters at a scope.",
        discussion: """
            SCOPE is default, model:NAME, group:NAME or device:MAC. Values may use {{variables}} and phone macros.
            Example: provctl set default Resync_Periodic=3600 'Profile_Rule=https://prov.example.com/prov/$MA.cfg' --ua na
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "default, model:NAME, group:NAME or device:MAC.") var scope: String
    @Argument(help: "NAME=VALUE pairs.") var assignments: [String]
    @Option(help: "The phone's ua attribute for these parameters: na, ro or rw.") var ua: String?

    func validate() throws {
        _ = try parseScope(scope)
        if let ua, UserAccess(rawValue: ua) == nil { throw ValidationError("--ua: \"\(ua)\" must be na, ro or rw") }
        for assignment in assignments {
            let (name, value) = try splitAssignment(assignment)
            try ParameterRules.check(name: name, value: value)
        }
    }

    func run() throws {
        let opened = try store.open()
        let scope = try parseScope(scope)
        let access = ua.flatMap(UserAccess.init)
        try opened.database.transaction {
            for assignment in assignments {
                let (name, value) = try splitAssignment(assignment)
                try opened.set(Setting(scope: scope, name: name, value: value, access: access))
                try opened.audit(who: currentUser(), action: "set", target: "\(scope) \(name)", old: nil,
                                 new: Secrets.mask(name: name, value: value), now: DeviceStore.now())
            }
        }
        print("set \(assignments.count) parameter(s) at \(scope)")
    }
}

struct VarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "var",
        abstract: "Set {{variables}} at a scope.",
        discussion: "Example: provctl var group:sales sip_domain=sales.example.com"
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "default, model:NAME, group:NAME or device:MAC.") var scope: String
    @Argument(help: "name=value pairs.") var assignments: [String]

    func validate() throws {
        _ = try parseScope(scope)
        for assignment in assignments {
            let (name, value) = try splitAssignment(assignment)
            try ParameterRules.checkVariable(name: name, value: value)
        }
    }

    func run() throws {
        let opened = try store.open()
        let scope = try parseScope(scope)
        try opened.database.transaction {
            for assignment in assignments {
                let (name, value) = try splitAssignment(assignment)
                try opened.set(Variable(scope: scope, name: name, value: value))
                try opened.audit(who: currentUser(), action: "var", target: "\(scope) \(name)", old: nil,
                                 new: Secrets.mask(name: name, value: value), now: DeviceStore.now())
            }
        }
        print("set \(assignments.count) variable(s) at \(scope)")
    }
}

/// `NAME=VALUE` split at the first `=`.
func splitAssignment(_ text: String) throws -> (String, String) {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw ValidationError("assignment: \"\(text)\" must be NAME=VALUE")
    }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
}
