import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database, or upgrade it to this version's schema.",
        discussion: "Example: provctl --db /var/lib/provisioner/provisioner.db init"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption

    func run() throws {
        let existed = FileManager.default.fileExists(atPath: store.path)
        let opened = try store.open(create: true)
        let from = opened.versionAtOpen
        let to = ConfigurationStore.schemaVersion
        let message: String
        if !existed || from == 0 {
            message = "created the database \(store.path) (schema version \(to))"
        } else if from == to {
            message = "\(store.path): schema version \(to), up to date"
        } else {
            message = "\(store.path): upgraded the schema from version \(from) to \(to)"
        }
        Output.emit(ChangeResult(action: "init", message: message, count: from == to ? 0 : 1,
                                 fields: [("path", .string(store.path)), ("created", .bool(!existed || from == 0)),
                                          ("from_version", .int(from)), ("version", .int(to))]), json: format.json)
    }
}
