import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct DeviceShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one device: its fields, when it last fetched a profile, its device-scope settings.",
        discussion: "Example: provctl device show 00:0E:08:AB:CD:EF --json"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The MAC, in any spelling.", completion: .custom(Completion.macs)) var mac: String

    func validate() throws { _ = try parseMAC(mac) }

    func run() throws {
        let details = try DeviceDetails(mac: parseMAC(mac), in: store.open())
        let (device, seen, settings, variables) = (details.device, details.seen, details.settings, details.variables)
        let (secretNames, parameterCount, renderProblem) = (details.secretNames, details.parameterCount, details.renderProblem)
        if output.json {
            Output.emit(ValueResult(json: details.json(disclosure: output.disclosure)), json: true)
            return
        }
        var fields = Table("FIELD", "VALUE")
        fields.append(["mac", device.mac.colon])
        fields.append(["serial", device.serial])
        fields.append(["model", device.model])
        fields.append(["group", device.group])
        fields.append(["enabled", device.enabled ? "yes" : "no"])
        fields.append(["gzip", device.gzip ? "yes" : "no"])
        switch device.encryption {
        case .none: fields.append(["encryption", "none"])
        case .aes256cbc(let key, let digest):
            fields.append(["encryption", "aes-256-cbc"])
            fields.append(["key", output.shown(key: key)])
            fields.append(["kdf", digest.rawValue])
        case .aes128gcm(let key):
            fields.append(["encryption", "aes128gcm (RFC 8188)"])
            fields.append(["key", output.shown(key: key.ikm)])
            fields.append(["key id", key.keyID.isEmpty ? "(empty)" : key.keyID])
            fields.append(["record size", String(key.recordSize)])
        }
        if let account = device.account {
            fields.append(["account", "\(account.user) (realm \(account.realm), password stored as HA1\(output.showSecrets ? " " + account.ha1 : ""))"])
        } else {
            fields.append(["account", "none"])
        }
        fields.append(["bootstrap", device.bootstrap.rawValue])
        if let seen {
            fields.append(["last seen", "\(timestamp(seen.lastSeen)) from \(seen.remoteAddress ?? "-") firmware \(seen.firmware ?? "-")"])
            fields.append(["first seen", timestamp(seen.firstSeen)])
            fields.append(["fetches", String(seen.count)])
        } else {
            fields.append(["last seen", "never"])
        }
        fields.append(["profile", renderProblem.map { "cannot render: \($0)" } ?? "\(parameterCount) parameter(s)"])
        fields.print()
        if !settings.isEmpty {
            print("")
            var table = Table("DEVICE SETTING", "UA", "VALUE")
            for setting in settings {
                table.append([setting.name, setting.access?.rawValue, output.shown(name: setting.name, value: setting.value)])
            }
            table.print()
        }
        if !variables.isEmpty {
            print("")
            var table = Table("DEVICE VARIABLE", "VALUE")
            for variable in variables {
                table.append([variable.name, output.shown(variable: variable.name, value: variable.value, secretNames: secretNames)])
            }
            table.print()
        }
    }
}
