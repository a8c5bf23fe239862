import Provisioning
import ProvisioningAdmin

/// The console's device list: one page in MAC order after a cursor, searched in MAC, serial, account user and
/// group, by the same paged query the API's device list runs (the primary key walked from the cursor).
enum ConsoleRows {
    static func devices(_ editor: ConfigurationEditor, search: String?, after: MACAddress?, limit: Int) throws
        -> [(device: Device, seen: SeenRecord?)] {
        try editor.devices(matching: DeviceFilter(search: search, after: after, limit: limit))
    }
}
