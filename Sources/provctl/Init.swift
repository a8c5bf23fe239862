import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database, or upgrade it to this version's schema.",
        discussion: "Example: provctl --db /var/lib/provisioner/provisioner.db init"
    )

    @OptionGroup var store: StoreOptions

    func run() throws {
        let opened = try store.open(create: true)
        let from = opened.versionAtOpen
        let to = DeviceStore.schemaVersion
        print(from == to ? "\(store.path): schema version \(to), up to date" : "\(store.path): schema version \(from) -> \(to)")
    }
}
