import Provisioning
import ProvisioningAdmin

/// The console's device list: a page in MAC order after a cursor, searched in MAC, serial, group and model.
enum ConsoleRows {
    static func devices(_ editor: ConfigurationEditor, search: String?, after: MACAddress?, limit: Int) throws
        -> [(device: Device, seen: SeenRecord?)] {
        let needle = search?.lowercased()
        var rows: [(device: Device, seen: SeenRecord?)] = []
        for row in try editor.devices(matching: DeviceFilter()) {
            if let after, row.device.mac.hex <= after.hex { continue }
            if let needle {
                let fields = [row.device.mac.hex, row.device.serial ?? "", row.device.group ?? "", row.device.model ?? ""]
                guard fields.contains(where: { $0.lowercased().contains(needle) }) else { continue }
            }
            rows.append(row)
            if rows.count == limit { break }
        }
        return rows
    }
}
