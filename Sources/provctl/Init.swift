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
        Output.emit(ChangeResult(DatabaseInit.summary(path: store.path, existed: existed, store: opened)), json: format.json)
    }
}
