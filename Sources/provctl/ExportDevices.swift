import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct ExportDevices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the devices as CSV, in the format `provctl import` reads.",
        discussion: """
            Columns mac, serial, model, group, enabled, variables (see provctl import --help). Secret variables \
            are written *** unless --show-secrets (importing *** keeps the stored value). Encryption settings are \
            not exported.
            Example: provctl export devices.csv --group sales
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The file to write; stdout when left out.") var file: String?
    @Option(help: "Only devices of this group.") var group: String?
    @Option(help: "Only devices of this model.") var model: String?
    @Flag(help: "Write secret variable values instead of ***.") var showSecrets = false

    func run() throws {
        let opened = try store.open()
        let secretNames = try secretVariableNames(opened)
        var variables: [String: [(name: String, value: String)]] = [:]
        for variable in try opened.variables() {
            guard case .device(let mac) = variable.scope else { continue }
            let secret = secretNames.contains(variable.name) || Secrets.isSecretVariable(variable.name)
                || Secrets.maskRule(variable.value) != variable.value
            let value = showSecrets || !secret || variable.value.isEmpty ? variable.value : Secrets.mask
            variables[mac.hex, default: []].append((variable.name, value))
        }
        var text = CSV.line(ImportDevices.columns)
        for (device, _) in try opened.devices(matching: DeviceFilter(group: group, model: model)) {
            text += CSV.line([device.mac.hex, device.serial ?? "", device.model ?? "", device.group ?? "",
                              device.enabled ? "yes" : "no", VariablesCell.format(variables[device.mac.hex] ?? [])])
        }
        if let file {
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
