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
        // Phones served from an expected entry or rule become devices first (they are no claims then).
        try Onboarding.promote(store: opened, session: .provctl())
        let entries = try ClaimEntry.all(in: opened)
        let claims = entries.map(\.claim), bySerial = entries.map { $0.deviceWithSerial?.hex }, expected = entries.map(\.expected)
        if output.json {
            printJSON(.array(entries.map(\.json)))
            return
        }
        var table = Table("MAC", "SERIAL", "MODEL", "ADDRESS", "LAST SEEN", "CALLS", "DEVICE WITH SERIAL", "USER AGENT", "EXPECTED")
        for (index, (claim, device)) in zip(claims, bySerial).enumerated() {
            table.append([claim.mac.hex, claim.serial, claim.model, claim.remoteAddress, timestamp(claim.lastSeen),
                          String(claim.count), device, claim.userAgent, expected[index]])
        }
        table.print()
    }
}
