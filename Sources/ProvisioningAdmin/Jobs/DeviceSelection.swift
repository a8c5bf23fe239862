import Foundation
public import Provisioning

/// Which devices a job works on (`Selection` in api/openapi.yaml): MACs, a group, a model, a state as `pending`
/// names it, a firmware, or all; the members given combine with AND.
public struct DeviceSelection: Sendable {
    public var macs: [MACAddress]?
    public var group: String?
    public var model: String?
    /// `enabled`, `disabled`, `never_seen`, `pending` (changed or failed on phone, as `provctl resync --pending`), or
    /// one of `pending`'s states spelt with `_` (`changed`, `render_error`, `failed_on_phone`, ...).
    public var state: String?
    /// The firmware of the device's last fetch.
    public var firmware: String?
    public var all: Bool

    public init(macs: [MACAddress]? = nil, group: String? = nil, model: String? = nil, state: String? = nil,
                firmware: String? = nil, all: Bool = false) {
        self.macs = macs
        self.group = group
        self.model = model
        self.state = state
        self.firmware = firmware
        self.all = all
    }

    /// The states `state` may name.
    public static let states = ["enabled", "disabled", "changed", "never_seen", "unknown", "render_error", "bootstrap",
                                "refused_by_server", "failed_on_phone", "report_differs", "stale", "pending"]

    /// The selected devices, ordered by MAC (MACs in the order given). A selection naming nothing is refused
    /// (`empty_selection`); a MAC that is no device is `.notFound`.
    public func devices(in store: ConfigurationEditor) throws -> [Device] {
        guard macs?.isEmpty == false || group != nil || model != nil || state != nil || firmware != nil || all else {
            throw AdminError(.usage, "selection: name devices (macs, group, model, state, firmware) or set all",
                             field: "selection", rule: "empty_selection")
        }
        if let state, !Self.states.contains(state) {
            throw AdminError(.usage, "selection.state: \"\(state)\" must be one of \(Self.states.joined(separator: ", "))",
                             field: "selection.state", rule: "enum")
        }
        var filter = DeviceFilter(group: group, model: model)
        if state == "enabled" { filter.enabled = true }
        if state == "disabled" { filter.enabled = false }
        if state == "never_seen" { filter.seen = false }
        var chosen: [(device: Device, seen: SeenRecord?)]
        do {
            chosen = try store.devices(matching: filter)
        } catch {
            throw AdminError.database(error)
        }
        if let macs {
            let byMAC = Dictionary(chosen.map { ($0.device.mac, $0) }, uniquingKeysWith: { a, _ in a })
            chosen = []
            for mac in macs {
                if let row = byMAC[mac] {
                    chosen.append(row)
                } else if try store.device(mac: mac) == nil {
                    throw AdminError(.notFound, "selection.macs: \(mac) is not a device", field: "selection.macs", rule: "exists")
                }
            }
        }
        if let firmware { chosen = chosen.filter { $0.seen?.firmware == firmware } }
        var devices = chosen.map(\.device)
        if let state, !["enabled", "disabled", "never_seen"].contains(state) {
            let wanted = Set(devices.map(\.mac))
            var matching = Set<MACAddress>()
            var scan = PendingScan(store: store)
            scan.stale = state == "stale"
            _ = try scan.run { entry in
                guard wanted.contains(entry.device.mac) else { return }
                let hit = state == "pending"
                    ? entry.states.contains("changed") || entry.states.contains("failed on phone")
                    : entry.states.contains(state.replacingOccurrences(of: "_", with: " "))
                if hit { matching.insert(entry.device.mac) }
            }
            devices = devices.filter { matching.contains($0.mac) }
        }
        return devices
    }
}
