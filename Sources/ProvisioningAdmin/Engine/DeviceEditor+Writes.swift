public import Provisioning

/// Adding, editing and replacing a device: what is checked, what is written and audited, the typed summary.
extension DeviceEditor {
    /// Checks serial, model and group values (`DeviceFieldRules`); `name` is how the caller spells the field
    /// (`--serial`); an empty value is allowed where it clears the field (`allowEmpty`).
    public static func checkFields(_ fields: [(field: String, name: String, value: String?)], allowEmpty: Bool = false) throws(AdminError) {
        for (field, name, value) in fields {
            guard let value, !(allowEmpty && value.isEmpty) else { continue }
            do {
                try DeviceFieldRules.check(field: field, value: value, name: name)
            } catch {
                throw AdminError.refused(error)
            }
        }
    }

    /// Adds a device; a MAC that is already a device is `.conflict`. A claim of its MAC is settled. A new model
    /// or group name is warned about (or refused when it looks like a typo).
    public func add(_ device: Device) throws -> Edited<EditSummary> {
        try Self.checkFields([("serial", "--serial", device.serial), ("model", "--model", device.model), ("group", "--group", device.group)])
        let mac = device.mac
        try engine.session.warnIfNew("model", device.model.map { [$0] } ?? [], in: store)
        try engine.session.warnIfNew("group", device.group.map { [$0] } ?? [], in: store)
        let outcome = try engine.run(reach: { .some([mac]) }) { audit in
            if try store.device(mac: mac) != nil {
                throw AdminError(.conflict, "MAC: \(mac) is already a device (use `provctl device edit`)")
            }
            try store.insert(device)
            try audit.record("device add", target: mac.hex, old: nil, new: describe(device))
            if try store.journal.settlesClaim(mac: mac) {
                try audit.record("claim settled", target: mac.hex, old: "claim", new: nil)
            }
        }
        return Self.summary(outcome, action: "device add", message: "added \(mac)", count: 1, fields: [("mac", .string(mac.hex))])
    }

    /// Makes claimed phones devices (`provctl adopt`): each MAC must have a claim and no device row; the device
    /// takes the claim's serial, and its model unless `template` names one; the claim is settled. The rest of the
    /// device (group, enabled, gzip, encryption) is `template`'s. A MAC that is a device already is `.conflict`,
    /// one without a claim `.notFound`; a new model or group name is warned about.
    public func adopt(_ macs: [MACAddress], like template: Device) throws -> Edited<EditSummary> {
        try Self.checkFields([("group", "--group", template.group), ("model", "--model", template.model)])
        try engine.session.warnIfNew("model", template.model.map { [$0] } ?? [], in: store)
        try engine.session.warnIfNew("group", template.group.map { [$0] } ?? [], in: store)
        let outcome = try engine.run(reach: { .some(Set(macs)) }) { audit in
            for mac in macs {
                if try store.device(mac: mac) != nil { throw AdminError(.conflict, "MAC: \(mac) is already a device") }
                guard let claim = try store.journal.claim(mac: mac) else { throw AdminError(.notFound, "MAC: \(mac) has no claim") }
                var device = template
                device.mac = mac
                device.serial = claim.serial.flatMap { $0.isEmpty ? nil : $0 }
                device.model = template.model ?? claim.model.flatMap { $0.isEmpty ? nil : $0 }
                try store.insert(device)
                try store.journal.settlesClaim(mac: mac)
                try audit.record("adopt", target: mac.hex, old: "claim serial=\(claim.serial ?? "-") model=\(claim.model ?? "-")",
                                 new: describe(device))
            }
        }
        return Self.summary(outcome, action: "adopt", macs: macs, count: macs.count, message: "adopted \(macs.count) device(s)")
    }

    /// Writes `device` over `old` (the same MAC): nothing when they are equal ("no change", count 0); a
    /// bootstrap policy without a strong key is refused; a new model or group name is warned about. An account
    /// user that is another device's is `.conflict`.
    public func edit(_ device: Device, old: Device) throws -> Edited<EditSummary> {
        let mac = old.mac
        try Self.checkFields([("serial", "--serial", device.serial), ("model", "--model", device.model), ("group", "--group", device.group)])
        if let account = device.account, account != old.account, let other = try store.device(accountUser: account.user), other.mac != mac {
            throw AdminError(.conflict, "--account: \(account.user) is already the account of \(other.mac)")
        }
        if device == old {
            return .written(EditSummary(action: "device edit", message: "\(mac): no change", count: 0, fields: [("mac", .string(mac.hex))]))
        }
        if let weak = BootstrapKeyRule.problem(device) { throw AdminError(.refused, "--key: \(weak)") }
        if device.model != old.model { try engine.session.warnIfNew("model", device.model.map { [$0] } ?? [], in: store) }
        if device.group != old.group { try engine.session.warnIfNew("group", device.group.map { [$0] } ?? [], in: store) }
        let outcome = try engine.run(reach: { .some([mac]) }) { audit in
            try store.update(device)
            try audit.record("device edit", target: mac.hex, old: describe(old), new: describe(device))
        }
        return Self.summary(outcome, action: "device edit", message: "changed \(mac)", count: 1, fields: [("mac", .string(mac.hex))])
    }

    /// Moves a device with its settings and variables from the unit `old` to the unit `new`. `serial`: the new
    /// unit's (`.some(nil)` clears it); nil takes the serial of `new`'s claim, or clears it: `note` says which (set
    /// when written).
    public func replace(_ old: MACAddress, with new: MACAddress, serial: String??, note: inout String?) throws -> Edited<EditSummary> {
        try Self.checkFields([("serial", "--serial", serial ?? nil)], allowEmpty: true)
        var found: String?
        let outcome = try engine.run(reach: { .some([old, new]) }) { audit in
            guard let before = try store.device(mac: old) else { throw AdminError(.notFound, "OLD: \(old) is not a device") }
            if try store.device(mac: new) != nil { throw AdminError(.conflict, "NEW: \(new) is already a device") }
            var chosen: String?? = .some(nil)
            if let serial {
                chosen = serial
            } else if let claim = try store.journal.claim(mac: new), let claimed = claim.serial {
                chosen = .some(claimed)
                found = "serial \(claimed) taken from the claim of \(new)"
            } else if before.serial != nil {
                found = "serial cleared (give --serial to set the new unit's)"
            }
            let after: Device
            do {
                after = try store.replaceMAC(old, with: new, serial: chosen)
            } catch let error as ReplaceError {
                throw AdminError(.conflict, error.description)
            }
            try audit.record("device replace", target: old.hex, old: describe(before), new: describe(after))
            try audit.record("device replace", target: new.hex, old: describe(before), new: describe(after))
        }
        note = found
        return Self.summary(outcome, action: "device replace", message: "replaced \(old) with \(new)", count: 1,
                            fields: [("old", .string(old.hex)), ("new", .string(new.hex))])
    }

    static func summary(_ outcome: ChangeOutcome, action: String, message: String, count: Int, fields: [(String, JSON)]) -> Edited<EditSummary> {
        switch outcome {
        case .dryRun(let report): return .dryRun(report)
        case .written(let ids, let changeSet):
            return .written(EditSummary(action: action, message: message, count: count, fields: fields + [("history", .array(ids.map(JSON.int)))],
                                        history: ids, changeSet: changeSet))
        }
    }
}
