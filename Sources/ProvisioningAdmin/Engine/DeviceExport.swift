public import Provisioning

/// The devices as `provctl export` writes them (and an HTTP API would send them): one typed row per device with
/// its key (masked unless `showSecrets`), its own variables and device-scope settings, and the columns the file
/// needs; `csv` and `json` are its two spellings.
public struct DeviceExport {
    /// One device's row.
    public struct Item {
        public var device: Device
        /// The key, *** unless secrets are shown; empty without encryption.
        public var key: String
        /// aes-256-cbc's digest; empty otherwise.
        public var digest: String
        /// The HTTP account's HA1, *** unless secrets are shown.
        public var ha1: String?
        /// The device's non-empty variables, secret ones *** unless secrets are shown.
        public var variables: [String: String]
        /// The device-scope settings of every partition, secret values *** unless secrets are shown.
        public var settings: [SettingColumn: Setting]
    }

    public var items: [Item]
    /// The var:NAME columns, sorted.
    public var variableNames: [String]
    /// The set:[PART/]NAME columns, sorted; a ua: column follows each in `uaColumns`, an intent: column each in
    /// `intentColumns`.
    public var settingColumns: [SettingColumn]
    public var uaColumns: Set<SettingColumn>
    public var intentColumns: Set<SettingColumn>

    /// The devices of `group` and `model` (nil: any) with their variables and settings.
    public init(from store: ConfigurationEditor, group: String?, model: String?, showSecrets: Bool) throws {
        let secretNames = try secretVariableNames(store)
        let devices = try store.devices(matching: DeviceFilter(group: group, model: model))
        let wanted = Set(devices.map(\.device.mac.hex))
        var variables: [String: [String: String]] = [:]
        var names: Set<String> = []
        for variable in try store.variables() {
            guard case .device(let mac) = variable.scope, wanted.contains(mac.hex), !variable.value.isEmpty else { continue }
            let secret = secretNames.contains(variable.name) || Secrets.isSecretVariable(variable.name)
                || Secrets.maskRule(variable.value) != variable.value
            variables[mac.hex, default: [:]][variable.name] = showSecrets || !secret ? variable.value : Secrets.mask
            names.insert(variable.name)
        }
        // Device-scope settings of every partition: set:[PART/]NAME columns, with ua:[PART/]NAME when one of them
        // has a ua and intent:[PART/]NAME when one of them is empty.
        var deviceSettings: [String: [SettingColumn: Setting]] = [:]
        var settingColumns: Set<SettingColumn> = [], uaColumns: Set<SettingColumn> = [], intentColumns: Set<SettingColumn> = []
        for setting in try store.settings() {
            guard case .device(let mac) = setting.scope, wanted.contains(mac.hex) else { continue }
            let column = SettingColumn(partition: setting.partition, name: setting.name)
            var shown = setting
            if !showSecrets && Secrets.mask(name: setting.name, value: setting.value) != setting.value { shown.value = Secrets.mask }
            deviceSettings[mac.hex, default: [:]][column] = shown
            settingColumns.insert(column)
            if setting.access != nil { uaColumns.insert(column) }
            if setting.value.isEmpty { intentColumns.insert(column) }
        }
        items = devices.map { device, _ in
            var key = "", digest = ""
            switch device.encryption {
            case .none: break
            case .aes256cbc(let secret, let kdf):
                key = showSecrets ? secret : Secrets.mask
                digest = kdf.rawValue
            case .aes128gcm(let material):
                key = showSecrets ? material.ikm : Secrets.mask
            }
            return Item(device: device, key: key, digest: digest, ha1: device.account.map { showSecrets ? $0.ha1 : Secrets.mask },
                        variables: variables[device.mac.hex] ?? [:], settings: deviceSettings[device.mac.hex] ?? [:])
        }
        variableNames = names.sorted()
        self.settingColumns = settingColumns.sorted()
        self.uaColumns = uaColumns
        self.intentColumns = intentColumns
    }

    /// The CSV file `provctl import` reads; `neutralise`: cells a spreadsheet would run as a formula get a '.
    public func csv(neutralise: Bool) -> String {
        var settingHeader: [String] = []
        for column in settingColumns {
            settingHeader.append("set:" + column.spelled)
            if uaColumns.contains(column) { settingHeader.append("ua:" + column.spelled) }
            if intentColumns.contains(column) { settingHeader.append("intent:" + column.spelled) }
        }
        let gcm = items.contains { if case .aes128gcm = $0.device.encryption { true } else { false } }
        let bootstrap = items.contains { $0.device.bootstrap != .none }
        let accounts = items.contains { $0.device.account != nil }
        var text = CSV.line(["mac", "serial", "model", "group", "enabled", "gzip", "encryption", "key", "digest"]
                            + (gcm ? ["key_id", "record_size"] : []) + (bootstrap ? ["bootstrap"] : [])
                            + (accounts ? ["account", "realm", "ha1"] : [])
                            + variableNames.map { "var:" + $0 } + settingHeader, neutralise: neutralise)
        for item in items {
            let device = item.device
            var keyID = "", recordSize = ""
            if case .aes128gcm(let material) = device.encryption {
                keyID = material.keyID
                recordSize = String(material.recordSize)
            }
            var settingCells: [String] = []
            for column in settingColumns {
                let setting = item.settings[column]
                settingCells.append(setting?.value ?? "")
                if uaColumns.contains(column) { settingCells.append(setting?.access?.rawValue ?? "") }
                if intentColumns.contains(column) {
                    // An empty value: empty (<X></X>) or keep (<X/>); a row stored before schema 9 has no intent
                    // and is served <X/>, so it is written keep.
                    settingCells.append(setting.map { $0.value.isEmpty ? ($0.intent ?? .keep).rawValue : "" } ?? "")
                }
            }
            text += CSV.line([device.mac.hex, device.serial ?? "", device.model ?? "", device.group ?? "",
                              device.enabled ? "yes" : "no", device.gzip ? "yes" : "no", device.encryption.name, item.key, item.digest]
                             + (gcm ? [keyID, recordSize] : []) + (bootstrap ? [device.bootstrap.rawValue] : [])
                             + (accounts ? [device.account?.user ?? "", device.account?.realm ?? "", item.ha1 ?? ""] : [])
                             + variableNames.map { item.variables[$0] ?? "" } + settingCells,
                             neutralise: neutralise)
        }
        return text
    }

    /// The same rows as JSON: one object per device, its variables as an object, its settings as an array.
    public var json: JSON {
        .array(items.map { item in
            let device = item.device
            var keyIDJSON = JSON.null, recordSizeJSON = JSON.null
            if case .aes128gcm(let material) = device.encryption {
                keyIDJSON = .string(material.keyID)
                recordSizeJSON = .int(material.recordSize)
            }
            return .object([
                ("mac", .string(device.mac.hex)), ("serial", .text(device.serial)), ("model", .text(device.model)),
                ("group", .text(device.group)), ("enabled", .bool(device.enabled)), ("gzip", .bool(device.gzip)),
                ("encryption", .string(device.encryption.name)), ("key", .text(item.key.isEmpty ? nil : item.key)),
                ("digest", .text(item.digest.isEmpty ? nil : item.digest)), ("key_id", keyIDJSON), ("record_size", recordSizeJSON),
                ("bootstrap", .string(device.bootstrap.rawValue)), ("account", .text(device.account?.user)),
                ("realm", .text(device.account?.realm)), ("ha1", .text(item.ha1)),
                ("variables", .object(item.variables.keys.sorted().map { ($0, .string(item.variables[$0]!)) })),
                ("settings", .array(item.settings.sorted { $0.key < $1.key }.map { column, setting in
                    .object([("partition", .text(column.partition.isEmpty ? nil : column.partition)),
                             ("name", .string(column.name)), ("value", .string(setting.value)),
                             ("ua", .text(setting.access?.rawValue)),
                             ("intent", .text(setting.value.isEmpty ? (setting.intent ?? .keep).rawValue : nil))])
                })),
            ])
        })
    }
}
