import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// `provctl node journal-shipper`: copies a serving node's journal into the file Litestream sends home.
struct JournalShipperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal-shipper",
        abstract: "Copy this node's journal rows into a shipping copy that Litestream replicates to the admin node.",
        discussion: """
            Every INTERVAL, the new and changed rows of JOURNAL (the file profile-cgi writes, PROVISIONER_JOURNAL) \
            are copied into SHIP in one transaction: the append-only logs (fetches, phone_log) past the last id \
            shipped, the other tables from the last time a row changed, a one-row table whole. The tables and \
            their columns come from the journal's own definition (the one profile-cgi creates the journal with), so \
            a column added there is shipped too; SHIP gains it on the next pass. SHIP is written by nothing else \
            and never checkpointed here: `litestream replicate` sends it to the replica store, and the admin \
            node follows it (provctl node replica-keeper) into journals/NODE.db.

            The journal is only read (a WAL reader): profile-cgi's writes never wait for the shipper. Failures are \
            retried after a back-off (INTERVAL, doubling up to --backoff-max). Stops on SIGTERM after the pass \
            under way and one last pass. Logs the rows shipped once a minute, each failure, and each schema change of SHIP.

            systemd: provisioner-journal-shipper.service, settings in /etc/provisioner/journal-shipper.env.

            Example: provctl node journal-shipper --journal /var/lib/provisioner/journal/journal.db \
            --ship /var/lib/provisioner/ship/journal.db
            """
    )

    @Option(help: ArgumentHelp("The node's journal, as profile-cgi writes it (PROVISIONER_JOURNAL).", valueName: "path"))
    var journal: String

    @Option(help: ArgumentHelp("The shipping copy (created when missing); Litestream replicates it.", valueName: "path"))
    var ship: String

    @Option(help: ArgumentHelp("Seconds between two passes.", valueName: "seconds"))
    var interval: Double = 0.5

    @Option(help: ArgumentHelp("Seconds between two summary lines in the log (0: one line per pass that shipped rows).",
                               valueName: "seconds"))
    var reportEvery: Double = 60

    @Flag(help: "One pass, then exit (0, or 1 when it failed); prints what it shipped.")
    var once = false

    @OptionGroup var retry: RetryOptions

    func validate() throws {
        guard interval >= 0.05, interval <= 3600 else { throw ValidationError("--interval: must be 0.05 <= seconds <= 3600") }
        guard reportEvery >= 0 else { throw ValidationError("--report-every: must be 0 or more") }
        guard !journal.isEmpty, !ship.isEmpty else { throw ValidationError("--journal and --ship: must not be empty") }
        guard NodeFiles.absolute(journal) != NodeFiles.absolute(ship) else {
            throw ValidationError("--ship: must not be the journal itself (profile-cgi writes that one)")
        }
    }

    func run() throws {
        NodeService.installSignals()
        let service = JournalShippingService(journal: journal, ship: ship, interval: interval, reportEvery: reportEvery, once: once,
                                             backoffMax: retry.backoffMax, maxFailures: retry.maxFailures)
        let host = NodeServiceHost(log: { NodeService.log("journal-shipper", $0) }, stopRequested: { NodeService.stopRequested },
                                   pause: { NodeService.pause($0) })
        if try service.run(host) == .gaveUp { throw ExitCode.failure }
    }
}
