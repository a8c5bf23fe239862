import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database, or upgrade it to this version's schema.",
        discussion: """
            Also computes each device's expected profile hash where the file lacks it (an upgraded file, devices \
            added without provctl), which `pending` reads instead of rendering every device.
            Example: provctl --db /var/lib/provisioner/provisioner.db init
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption

    func run() throws {
        let existed = FileManager.default.fileExists(atPath: store.path)
        let opened = try store.open(create: true)
        // Each device's expected profile hash (`pending`): an upgraded file, or rows written without provctl.
        try DatabaseInit.completeHashes(opened)
        Output.emit(ChangeResult(DatabaseInit.summary(path: store.path, existed: existed, store: opened)), json: format.json)
    }
}
