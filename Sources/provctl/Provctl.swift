import ArgumentParser
import Provisioning

@main
struct Provctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provctl",
        abstract: "Manage the devices and settings Provisioner serves to Cisco MPP phones.",
        discussion: """
            The database is the SQLite file profile-cgi reads: --db PATH, else $PROVISIONER_DB, \
            else \(DeviceStore.defaultPath).
            """,
        subcommands: [Init.self, DeviceCommand.self, SetCommand.self, VarCommand.self, Render.self]
    )

    // Declared here too so that `provctl --db PATH init` reads as well as `provctl init --db PATH`.
    @OptionGroup var store: StoreOptions
}
