import ArgumentParser
import Foundation
import Provisioning

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a device's profile exactly as profile-cgi would send it.",
        discussion: """
            The certificate fields ({{cert.ou}}, ...) are those of the OU/L/ST certificate the stored device \
            would present. Binary forms are written as bytes: redirect them to a file.
            Example: provctl render 000e08abcdef --form cfg > 000e08abcdef.cfg
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The device's MAC.") var mac: String
    @Option(help: "xml, gz or cfg.") var form: String = "xml"

    func validate() throws {
        _ = try parseMAC(mac)
        guard ProfileForm(rawValue: form) != nil else { throw ValidationError("--form: \"\(form)\" must be xml, gz or cfg") }
    }

    func run() throws {
        let opened = try store.open()
        let mac = try parseMAC(mac)
        guard let device = try opened.device(mac: mac) else { throw ValidationError("MAC: \(mac) is not a device") }
        do {
            let body = try ProfileService.profile(store: opened, device: device, identity: .standIn(for: device),
                                                  form: ProfileForm(rawValue: form)!)
            FileHandle.standardOutput.write(Data(body))
        } catch {
            throw ValidationError("render \(mac): \(error.reason)" + (error.detail.map { " (\($0))" } ?? ""))
        }
    }
}
