import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct ExportDevices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the devices as CSV, in the format `provctl import` reads.",
        discussion: """
            Columns mac, serial, model, group, enabled, gzip, encryption, key, digest, then var:NAME for each \
            device-scope {{variable}} and set:NAME for each device-scope setting of the main profile (see \
            provctl import --help); secret settings (passwords, --key/--pwd of rules) are *** unless --show-secrets. Keys and secret variables are written *** \
            unless --show-secrets; importing *** keeps the stored value. With --show-secrets the file restores \
            every device, its key and its variables into another database (a variable set to an empty value is \
            the one thing a var: cell cannot carry). Settings of the default, model and group scopes are not \
            part of it: provctl backup copies everything. A cell that starts with = + - @, a tab or a carriage \
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
        // Device-scope settings of the main profile: set:NAME columns.
        var deviceSettings: [String: [String: String]] = [:]
        var settingNames: Set<String> = []
        for setting in try opened.settings() where setting.partition.isEmpty {
            guard case .device(let mac) = setting.scope, wanted.contains(mac.hex) else { continue }
            deviceSettings[mac.hex, default: [:]][setting.name] = showSecrets ? setting.value : Secrets.mask(name: setting.name, value: setting.value) == setting.value ? setting.value : Secrets.mask
            settingNames.insert(setting.name)
        }
        let settingColumns = settingNames.sorted()
        var text = CSV.line(["mac", "serial", "model", "group", "enabled", "gzip", "encryption", "key", "digest"]
                            + columns.map { "var:" + $0 } + settingColumns.map { "set:" + $0 }, neutralise: !raw)
        var items: [JSON] = []
        for (device, _) in devices {
            var key = "", digest = ""
            if case .aes256cbc(let secret, let kdf) = device.encryption {
                key = showSecrets ? secret : Secrets.mask
                digest = kdf.rawValue
            }
            let own = variables[device.mac.hex] ?? [:]
            text += CSV.line([device.mac.hex, device.serial ?? "", device.model ?? "", device.group ?? "",
                              device.enabled ? "yes" : "no", device.gzip ? "yes" : "no", device.encryption.name, key, digest]
                             + columns.map { own[$0] ?? "" } + settingColumns.map { deviceSettings[device.mac.hex]?[$0] ?? "" },
                             neutralise: !raw)
            if json {
                items.append(.object([
                    ("mac", .string(device.mac.hex)), ("serial", .text(device.serial)), ("model", .text(device.model)),
                    ("group", .text(device.group)), ("enabled", .bool(device.enabled)), ("gzip", .bool(device.gzip)),
                    ("encryption", .string(device.encryption.name)), ("key", .text(key.isEmpty ? nil : key)),
                    ("digest", .text(digest.isEmpty ? nil : digest)),
                    ("variables", .object(own.keys.sorted().map { ($0, .string(own[$0]!)) })),
                    ("settings", .object((deviceSettings[device.mac.hex] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
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
