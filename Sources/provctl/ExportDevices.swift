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
        let export = try DeviceExport(from: store.open(), group: group, model: model, showSecrets: showSecrets)
        let text = json ? String(decoding: export.json.bytes, as: UTF8.self) : export.csv(neutralise: !raw)
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

