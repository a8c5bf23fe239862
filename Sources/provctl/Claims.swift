import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Claims: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List phones that called with a valid certificate but have no device row.",
        discussion: """
            profile-cgi answers them 404 and remembers them here, with the serial and model of their \
            certificate. `provctl adopt` makes them devices.
            Example: provctl claims --json
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: JSONOption

    func run() throws {
        let claims = try store.open().claims()
        if output.json {
            try printJSON(claims.map { claim -> [String: Any] in
                ["mac": claim.mac.hex, "serial": json(claim.serial), "model": json(claim.model),
                 "remote_addr": json(claim.remoteAddress), "user_agent": json(claim.userAgent),
                 "first_seen": timestamp(claim.firstSeen), "last_seen": timestamp(claim.lastSeen), "count": claim.count]
            })
            return
        }
        var table = Table("MAC", "SERIAL", "MODEL", "ADDRESS", "LAST SEEN", "CALLS", "USER AGENT")
        for claim in claims {
            table.append([claim.mac.hex, claim.serial, claim.model, claim.remoteAddress, timestamp(claim.lastSeen),
                          String(claim.count), claim.userAgent])
        }
        table.print()
    }
}
