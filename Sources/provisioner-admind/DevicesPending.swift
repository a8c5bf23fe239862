import Provisioning
import ProvisioningAdmin

/// The device list filtered by a pending state (`provctl pending`'s): the loop's pending scan (every enabled
/// device rendered and compared with what its phone was last served) walks the fleet in MAC order from the first
/// MAC and stops once the page is full. It costs a render per device scanned: far slower than the other
/// filters, which are SQL (docs/api.md).
enum DevicesPending {
    private struct PageFull: Error {}

    /// Up to `filter.limit` devices after `filter.after` whose pending states include `state` (`pending`: any),
    /// of `filter`'s group, model and firmware, matching its search. Disabled devices are never pending.
    static func page(_ store: ConfigurationEditor, filter: DeviceFilter, state: String) throws -> [(device: Device, seen: SeenRecord?)] {
        let wanted = state.replacing("_", with: " ")
        let limit = filter.limit ?? Int.max
        var rows: [(device: Device, seen: SeenRecord?)] = []
        let scan = PendingScan(store: store, group: filter.group, stale: wanted == "stale")
        do {
            try scan.run { entry in
                let device = entry.device
                if let after = filter.after, device.mac.hex <= after.hex { return }
                guard wanted == "pending" || entry.states.contains(wanted) else { return }
                if filter.withoutGroup, device.group != nil { return }
                if let model = filter.model, device.model != model { return }
                let seen = try store.journal.seen(mac: device.mac)
                if let firmware = filter.firmware, seen?.firmware != firmware { return }
                if let search = filter.search?.lowercased() {
                    let hex = String(search.filter(\.isHexDigit))
                    let macMatches = !hex.isEmpty && search.allSatisfy({ $0.isHexDigit || ":-.".contains($0) }) && device.mac.hex.contains(hex)
                    let texts = [device.serial, device.account?.user, device.group].compactMap { $0?.lowercased() }
                    guard macMatches || texts.contains(where: { $0.contains(search) }) else { return }
                }
                rows.append((device, seen))
                if rows.count >= limit { throw PageFull() }
            }
        } catch is PageFull {}
        return rows
    }
}
