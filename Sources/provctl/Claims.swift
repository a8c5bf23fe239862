import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Claims: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List phones that called with a valid certificate but have no device row.",
        discussion: """
            profile-cgi answers them 404 and remembers them here, with the serial and model of their \
            certificate. `provctl adopt` makes them devices. DEVICE WITH SERIAL names the device whose serial \
            is the claim's (the certificate's, else the one its User-Agent carries), as a MAC would.
            Example: provctl claims --json
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: JSONOption

    func run() throws {
        let opened = try store.open()
        let entries = try ClaimEntry.all(in: opened)
        let claims = entries.map(\.claim), bySerial = entries.map { $0.deviceWithSerial?.hex }
        if output.json {
            printJSON(.array(zip(claims, bySerial).map { claim, device in
                .sorted(["mac": .string(claim.mac.hex), "serial": .text(claim.serial), "model": .text(claim.model),
                         "remote_addr": .text(claim.remoteAddress), "user_agent": .text(claim.userAgent),
                         "first_seen": .string(timestamp(claim.firstSeen)), "last_seen": .string(timestamp(claim.lastSeen)),
                         "count": .int(claim.count), "device_with_serial": .text(device)])
            }))
            return
        }
        var table = Table("MAC", "SERIAL", "MODEL", "ADDRESS", "LAST SEEN", "CALLS", "DEVICE WITH SERIAL", "USER AGENT")
        for (claim, device) in zip(claims, bySerial) {
            table.append([claim.mac.hex, claim.serial, claim.model, claim.remoteAddress, timestamp(claim.lastSeen),
                          String(claim.count), device, claim.userAgent])
        }
        table.print()
    }
}
