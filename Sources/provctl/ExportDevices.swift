import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct ExportDevices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the devices as CSV, in the format `provctl import` reads.",
        discussion: """
            Columns mac, serial, model, group, enabled, gzip, encryption, key, digest (key_id and record_size when \
            a device uses aes128gcm; bootstrap when one is not none; account, realm and ha1 when one has an HTTP \
            account), then var:NAME for each device-scope {{variable}} and set:NAME for each \
            device-scope setting (set:PART/NAME in a named partition), followed by ua:[PART/]NAME when one of them \
            has a ua and intent:[PART/]NAME (empty or keep) when one of them is empty (see provctl import --help). \
            Keys, secret variables and secret settings (passwords, --key/--pwd of rules) are written *** unless \
            --show-secrets; importing *** keeps the stored value. With --show-secrets the file restores every \
            device, its key, its variables and its own settings into another database (a variable set to an empty \
            value is the one thing a var: cell cannot carry). \
            Settings of the default, model and group scopes are not part of it: provctl backup copies everything. \
            A cell that starts with = + - @, a tab or a carriage \
            return is written with a ' in front (OWASP's rule against CSV injection: a spreadsheet would run it \
            as a formula); provctl import takes it off again. --raw writes cells exactly as stored.
            Example: provctl export devices.csv --group sales
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The file to write; stdout when left out.") var file: String?
    @Option(help: "Only devices of this group.", completion: .custom(Completion.groups)) var group: String?
    @Option(help: "Only devices of this model.", completion: .custom(Completion.models)) var model: String?
    @Flag(help: "Write keys and secret variable values instead of ***.") var showSecrets = false
    @Flag(help: "Write every cell as stored, without the ' that keeps a spreadsheet from running it as a formula.")
    var raw = false
    @Flag(help: "Write the same rows as JSON (one object per device, its variables as an object) instead of CSV.") var json = false

    func run() throws {
        let opened = try store.open()
        let secretNames = try secretVariableNames(opened)
        var variables: [String: [String: String]] = [:]
        var names: Set<String> = []
        let devices = try opened.devices(matching: DeviceFilter(group: group, model: model))
        let wanted = Set(devices.map(\.device.mac.hex))
        for variable in try opened.variables() {
            guard case .device(let mac) = variable.scope, wanted.contains(mac.hex), !variable.value.isEmpty else { continue }
            let secret = secretNames.contains(variable.name) || Secrets.isSecretVariable(variable.name)
                || Secrets.maskRule(variable.value) != variable.value
            variables[mac.hex, default: [:]][variable.name] = showSecrets || !secret ? variable.value : Secrets.mask
            names.insert(variable.name)
        }
        let columns = names.sorted()
        // Device-scope settings of every partition: set:[PART/]NAME columns, with ua:[PART/]NAME when one of them
        // has a ua and intent:[PART/]NAME when one of them is empty.
        var deviceSettings: [String: [SettingColumn: Setting]] = [:]
        var settingColumns: Set<SettingColumn> = [], uaColumns: Set<SettingColumn> = [], intentColumns: Set<SettingColumn> = []
        for setting in try opened.settings() {
            guard case .device(let mac) = setting.scope, wanted.contains(mac.hex) else { continue }
            let column = SettingColumn(partition: setting.partition, name: setting.name)
            var shown = setting
            if !showSecrets && Secrets.mask(name: setting.name, value: setting.value) != setting.value { shown.value = Secrets.mask }
            deviceSettings[mac.hex, default: [:]][column] = shown
            settingColumns.insert(column)
            if setting.access != nil { uaColumns.insert(column) }
            if setting.value.isEmpty { intentColumns.insert(column) }
        }
        let orderedSettings = settingColumns.sorted()
        var settingHeader: [String] = []
        for column in orderedSettings {
            settingHeader.append("set:" + column.spelled)
            if uaColumns.contains(column) { settingHeader.append("ua:" + column.spelled) }
            if intentColumns.contains(column) { settingHeader.append("intent:" + column.spelled) }
        }
        let gcm = devices.contains { if case .aes128gcm = $0.device.encryption { true } else { false } }
        let bootstrap = devices.contains { $0.device.bootstrap != .none }
        let accounts = devices.contains { $0.device.account != nil }
        var text = CSV.line(["mac", "serial", "model", "group", "enabled", "gzip", "encryption", "key", "digest"]
                            + (gcm ? ["key_id", "record_size"] : []) + (bootstrap ? ["bootstrap"] : [])
                            + (accounts ? ["account", "realm", "ha1"] : [])
                            + columns.map { "var:" + $0 } + settingHeader, neutralise: !raw)
        var items: [JSON] = []
        for (device, _) in devices {
            var key = "", digest = "", keyID = "", recordSize = ""
            switch device.encryption {
            case .none: break
            case .aes256cbc(let secret, let kdf):
                key = showSecrets ? secret : Secrets.mask
                digest = kdf.rawValue
            case .aes128gcm(let material):
                key = showSecrets ? material.ikm : Secrets.mask
                keyID = material.keyID
                recordSize = String(material.recordSize)
            }
            let own = variables[device.mac.hex] ?? [:]
            let settings = deviceSettings[device.mac.hex] ?? [:]
            var settingCells: [String] = []
            for column in orderedSettings {
                let setting = settings[column]
                settingCells.append(setting?.value ?? "")
                if uaColumns.contains(column) { settingCells.append(setting?.access?.rawValue ?? "") }
                if intentColumns.contains(column) {
                    // An empty value: empty (<X></X>) or keep (<X/>); a row stored before schema 9 has no intent
                    // and is served <X/>, so it is written keep.
                    settingCells.append(setting.map { $0.value.isEmpty ? ($0.intent ?? .keep).rawValue : "" } ?? "")
                }
            }
            text += CSV.line([device.mac.hex, device.serial ?? "", device.model ?? "", device.group ?? "",
                              device.enabled ? "yes" : "no", device.gzip ? "yes" : "no", device.encryption.name, key, digest]
                             + (gcm ? [keyID, recordSize] : []) + (bootstrap ? [device.bootstrap.rawValue] : [])
                             + (accounts ? [device.account?.user ?? "", device.account?.realm ?? "",
                                            device.account.map { showSecrets ? $0.ha1 : Secrets.mask } ?? ""] : [])
                             + columns.map { own[$0] ?? "" } + settingCells,
                             neutralise: !raw)
            if json {
                var keyIDJSON = JSON.null, recordSizeJSON = JSON.null
                if case .aes128gcm(let material) = device.encryption {
                    keyIDJSON = .string(material.keyID)
                    recordSizeJSON = .int(material.recordSize)
                }
                items.append(.object([
                    ("mac", .string(device.mac.hex)), ("serial", .text(device.serial)), ("model", .text(device.model)),
                    ("group", .text(device.group)), ("enabled", .bool(device.enabled)), ("gzip", .bool(device.gzip)),
                    ("encryption", .string(device.encryption.name)), ("key", .text(key.isEmpty ? nil : key)),
                    ("digest", .text(digest.isEmpty ? nil : digest)), ("key_id", keyIDJSON), ("record_size", recordSizeJSON),
                    ("bootstrap", .string(device.bootstrap.rawValue)), ("account", .text(device.account?.user)),
                    ("realm", .text(device.account?.realm)), ("ha1", .text(device.account.map { showSecrets ? $0.ha1 : Secrets.mask })),
                    ("variables", .object(own.keys.sorted().map { ($0, .string(own[$0]!)) })),
                    ("settings", .array(settings.sorted { $0.key < $1.key }.map { column, setting in
                        .object([("partition", .text(column.partition.isEmpty ? nil : column.partition)),
                                 ("name", .string(column.name)), ("value", .string(setting.value)),
                                 ("ua", .text(setting.access?.rawValue)),
                                 ("intent", .text(setting.value.isEmpty ? (setting.intent ?? .keep).rawValue : nil))])
                    })),
                ]))
            }
        }
        if json { text = String(decoding: JSON.array(items).bytes, as: UTF8.self) }
        if let file {
            let old = umask(showSecrets ? 0o077 : 0o022)
            defer { umask(old) }
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
            } catch {
                throw Failure(.runtime, "\(file): \(error.localizedDescription)")
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

