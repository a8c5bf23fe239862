public import Provisioning

/// What a change to settings, variables or devices wrote: the words an admin reads ("set 2 parameter(s) at
/// default"), how many things it changed, the scope, its audit entries and change set (what a revert takes).
public struct EditSummary: JSONRepresentable, Sendable {
    public var action: String
    public var message: String
    public var count: Int
    /// Further members of the JSON result, in order (`scope`, `history`, ...).
    public var fields: [(String, JSON)]
    public var history: [Int]
    public var changeSet: Int?

    public init(action: String, message: String, count: Int, fields: [(String, JSON)] = [], history: [Int] = [],
                changeSet: Int? = nil) {
        self.action = action
        self.message = message
        self.count = count
        self.fields = fields
        self.history = history
        self.changeSet = changeSet
    }

    public var json: JSON {
        .object([("ok", .bool(true)), ("action", .string(action)), ("count", .int(count)), ("message", .string(message))]
                + fields + [("change_set", .number(changeSet))])
    }
}

/// A parameter checked against its rules and ready to store: its value as stored, and the intent of an empty one.
public struct CheckedSetting: Sendable {
    public var name: String
    public var value: String
    public var intent: EmptyIntent?
}

/// The settings and variables of a scope: set, unset, list. Every change runs through `ChangeEngine` (rendered
/// before and after, refused when it breaks a device, audited, undoable, or a dry run).
public struct SettingsEditor {
    public let store: DeviceStore
    public let session: AdminSession
    public let mode: ChangeMode

    public init(store: DeviceStore, session: AdminSession, mode: ChangeMode = ChangeMode()) {
        self.store = store
        self.session = session
        self.mode = mode
    }

    var engine: ChangeEngine { ChangeEngine(store: store, session: session, mode: mode) }

    /// " partition NAME" for messages, empty for the main profile.
    static func suffix(_ partition: String) -> String { partition.isEmpty ? "" : " partition \(partition)" }

    /// `NAME=VALUE` pairs and names to leave (`<NAME/>`), each checked against its rules before anything is
    /// written (an empty value sets the phone's value to empty).
    public static func check(assignments: [(String, String)], leave: [String], session: AdminSession) throws(AdminError) -> [CheckedSetting] {
        var checked: [CheckedSetting] = []
        for (name, value) in assignments {
            checked.append(CheckedSetting(name: name, value: try session.checkedSetting(name: name, value: value), intent: nil))
        }
        for name in leave {
            _ = try session.checkedSetting(name: name, value: "")
            checked.append(CheckedSetting(name: name, value: "", intent: .keep))
        }
        return checked
    }

    /// Stores checked parameters at `scope`; without `access` an existing ua is kept.
    public func set(_ checked: [CheckedSetting], at scope: Scope, access: UserAccess?, partition: String = "") throws -> Edited<EditSummary> {
        try session.checkTargetScope(scope, in: store)
        var changed = 0
        let outcome = try engine.run(reach: { try .scope(scope, in: store) }) { audit in
            for item in checked {
                let old = try store.setting(scope: scope, name: item.name, partition: partition)
                let new = Setting(scope: scope, name: item.name, value: item.value, access: access ?? old?.access,
                                  partition: partition, intent: item.value.isEmpty ? item.intent ?? .empty : nil)
                guard new != old else { continue }
                try store.set(new)
                try audit.record("set", target: "\(scope)\(Self.suffix(partition)) \(item.name)", old: auditValue(old), new: auditValue(new))
                changed += 1
            }
        }
        let unchanged = checked.count - changed
        return summary(outcome, action: "set", count: changed, scope: scope,
                       message: "set \(checked.count) parameter(s) at \(scope)\(Self.suffix(partition))"
                           + (unchanged > 0 ? " (\(unchanged) unchanged)" : ""))
    }

    /// Removes parameters from `scope` (a lower scope's value shows through); a name not set there is `.notFound`.
    public func unset(_ names: [String], at scope: Scope, partition: String = "") throws -> Edited<EditSummary> {
        let outcome = try engine.run(reach: { try .scope(scope, in: store) }) { audit in
            for name in names {
                guard let old = try store.setting(scope: scope, name: name, partition: partition) else {
                    throw AdminError(.notFound, "\(name): not set at \(scope)\(Self.suffix(partition))")
                }
                try store.removeSetting(scope: scope, name: name, partition: partition)
                try audit.record("unset", target: "\(scope)\(Self.suffix(partition)) \(name)", old: auditValue(old), new: nil)
            }
        }
        return summary(outcome, action: "unset", count: names.count, scope: scope,
                       message: "unset \(names.count) parameter(s) at \(scope)\(Self.suffix(partition))")
    }

    /// Checks `name=value` pairs of variables before anything is written.
    public static func checkVariables(_ assignments: [(String, String)], session: AdminSession) throws(AdminError) {
        for (name, value) in assignments { try session.checkVariable(name: name, value: value) }
    }

    /// Stores variables at `scope` (checked with `checkVariables`).
    public func setVariables(_ pairs: [(String, String)], at scope: Scope) throws -> Edited<EditSummary> {
        try session.checkTargetScope(scope, in: store)
        let secretNames = try secretVariableNames(store)
        let outcome = try engine.run(reach: { try .scope(scope, in: store) }) { audit in
            for (name, value) in pairs {
                let old = try store.variable(scope: scope, name: name)
                let new = Variable(scope: scope, name: name, value: value)
                guard new != old else { continue }
                try store.set(new)
                try audit.record("var", target: "\(scope) {{\(name)}}", old: auditValue(old, secretNames: secretNames),
                                 new: auditValue(new, secretNames: secretNames))
            }
        }
        return summary(outcome, action: "var", count: pairs.count, scope: scope, message: "set \(pairs.count) variable(s) at \(scope)")
    }

    /// Removes variables from `scope`; a name not set there is `.notFound`.
    public func unsetVariables(_ names: [String], at scope: Scope) throws -> Edited<EditSummary> {
        let secretNames = try secretVariableNames(store)
        let outcome = try engine.run(reach: { try .scope(scope, in: store) }) { audit in
            for name in names {
                guard let old = try store.variable(scope: scope, name: name) else {
                    throw AdminError(.notFound, "variable \(name): not set at \(scope)")
                }
                try store.removeVariable(scope: scope, name: name)
                try audit.record("unvar", target: "\(scope) {{\(name)}}", old: auditValue(old, secretNames: secretNames), new: nil)
            }
        }
        return summary(outcome, action: "unvar", count: names.count, scope: scope, message: "unset \(names.count) variable(s) at \(scope)")
    }

    func summary(_ outcome: ChangeOutcome, action: String, count: Int, scope: Scope, message: String) -> Edited<EditSummary> {
        switch outcome {
        case .dryRun(let report): return .dryRun(report)
        case .written(let ids, let changeSet):
            return .written(EditSummary(action: action, message: message, count: count,
                                        fields: [("scope", .string(scope.description)), ("history", .array(ids.map(JSON.int)))],
                                        history: ids, changeSet: changeSet))
        }
    }

    /// The parameters stored at `scope`, or at every scope, as they may be shown.
    public func settings(at scope: Scope?) throws -> SettingListing {
        SettingListing(rows: try store.settings(at: scope).map { setting in
            SettingListing.Row(scope: setting.scope.description, partition: setting.partition, name: setting.name,
                               ua: setting.access?.rawValue,
                               value: session.disclosure.shown(name: setting.name, value: setting.value))
        })
    }

    /// The variables stored at `scope`, or at every scope, as they may be shown.
    public func variables(at scope: Scope?) throws -> VariableListing {
        let secretNames = try secretVariableNames(store)
        return VariableListing(rows: try store.variables(at: scope).map { variable in
            VariableListing.Row(scope: variable.scope.description, name: variable.name,
                                value: session.disclosure.shown(variable: variable.name, value: variable.value, secretNames: secretNames))
        })
    }
}

/// `settings`: the parameters of a scope, secrets masked unless shown.
public struct SettingListing: JSONRepresentable, Sendable {
    public struct Row: Sendable {
        public var scope: String
        /// "" for the main profile.
        public var partition: String
        public var name: String
        public var ua: String?
        public var value: String
    }

    public var rows: [Row]

    /// True when a row is in a partition (the table then has a PARTITION column).
    public var partitioned: Bool { rows.contains { !$0.partition.isEmpty } }

    public var json: JSON {
        .array(rows.map { row in
            .object([("name", .string(row.name)), ("partition", .string(row.partition)), ("scope", .string(row.scope)),
                     ("ua", .text(row.ua)), ("value", .string(row.value))])
        })
    }
}

/// `variables`: the variables of a scope, secrets masked unless shown.
public struct VariableListing: JSONRepresentable, Sendable {
    public struct Row: Sendable {
        public var scope: String
        public var name: String
        public var value: String
    }

    public var rows: [Row]

    public var json: JSON {
        .array(rows.map { .object([("name", .string($0.name)), ("scope", .string($0.scope)), ("value", .string($0.value))]) })
    }
}
