public import Provisioning

/// Devices' lifecycle changes: enable, disable, remove (restorable) and restore. Each runs through `ChangeEngine`
/// (rendered before and after, audited, undoable, or a dry run) and returns a typed summary.
public struct DeviceEditor {
    /// The engine every change runs through; its store is the one changed.
    public let engine: ChangeEngine
    var store: ConfigurationEditor { engine.store }

    public init(store: ConfigurationEditor, session: AdminSession, mode: ChangeMode = ChangeMode()) {
        engine = ChangeEngine(store: store, session: session, mode: mode)
    }

    /// Enables or disables devices; a MAC that is no device is `.notFound`. `count` is how many changed.
    public func setEnabled(_ enabled: Bool, macs: [MACAddress]) throws -> Edited<EditSummary> {
        var changed = 0
        let outcome = try engine.run(reach: { .some(Set(macs)) }) { audit in
            for mac in macs {
                guard var device = try store.device(mac: mac) else { throw AdminError(.notFound, "MAC: \(mac) is not a device") }
                guard device.enabled != enabled else { continue }
                device.enabled = enabled
                try store.update(device)
                try audit.record(enabled ? "device enable" : "device disable", target: mac.hex,
                                 old: "enabled=\(enabled ? "no" : "yes")", new: "enabled=\(enabled ? "yes" : "no")")
                changed += 1
            }
        }
        return Self.summary(outcome, action: enabled ? "device enable" : "device disable", macs: macs, count: changed,
                            message: "\(enabled ? "enabled" : "disabled") \(macs.count) device(s)")
    }

    /// Removes devices with their device-scope settings and variables (kept in the undo log: `restore`).
    public func remove(_ macs: [MACAddress]) throws -> Edited<EditSummary> {
        let outcome = try engine.run(reach: { .some(Set(macs)) }) { audit in
            for mac in macs {
                guard let device = try store.device(mac: mac) else { throw AdminError(.notFound, "MAC: \(mac) is not a device", field: "MAC") }
                let settings = try store.settings(at: .device(mac)).count
                let variables = try store.variables(at: .device(mac)).count
                try store.removeDevice(mac: mac)
                try audit.record("device remove", target: mac.hex, old: describe(device) + " settings=\(settings) variables=\(variables)", new: nil)
            }
        }
        let undo = macs.count == 1 ? "provctl device restore \(macs[0].hex)" : "provctl device restore MAC"
        return Self.summary(outcome, action: "device remove", macs: macs, count: macs.count,
                            message: "removed \(macs.count) device(s); undo: \(undo)")
    }

    /// Brings back removed devices as they were (the latest removal of each MAC); a MAC that is a device again
    /// is `.conflict`, one never removed `.notFound`.
    public func restore(_ macs: [MACAddress]) throws -> Edited<EditSummary> {
        var entries: [(MACAddress, Int, [RowChange])] = []
        for mac in macs {
            if try store.device(mac: mac) != nil { throw AdminError(.conflict, "MAC: \(mac) is a device (nothing to restore)", field: "MAC") }
            guard let entry = try store.removalEntry(mac: mac) else {
                throw AdminError(.notFound, "MAC: \(mac) has no recorded removal to restore", field: "MAC")
            }
            entries.append((mac, entry, try store.rowChanges(entry: entry)))
        }
        let outcome = try engine.run(reach: { .some(Set(macs)) }) { audit in
            for (mac, entry, changes) in entries {
                try store.revert(entry: entry, changes: changes, force: engine.mode.force)
                try audit.record("device restore", target: mac.hex, old: nil, new: "reverts #\(entry)")
            }
        }
        return Self.summary(outcome, action: "device restore", macs: macs, count: macs.count, message: "restored \(macs.count) device(s)")
    }

    static func summary(_ outcome: ChangeOutcome, action: String, macs: [MACAddress], count: Int, message: String) -> Edited<EditSummary> {
        switch outcome {
        case .dryRun(let report): return .dryRun(report)
        case .written(let ids, let changeSet):
            return .written(EditSummary(action: action, message: message, count: count,
                                        fields: [("macs", .array(macs.map { .string($0.hex) })), ("history", .array(ids.map(JSON.int)))],
                                        history: ids, changeSet: changeSet))
        }
    }
}
