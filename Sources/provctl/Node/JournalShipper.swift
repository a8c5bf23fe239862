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
        let definition: JournalDefinition
        do {
            definition = try JournalDefinition.current()
        } catch {
            throw Failure(.runtime, "journal definition: \(error)", underlying: error)
        }
        var backOff = BackOff(first: interval, limit: retry.backoffMax, maxFailures: once ? 1 : retry.maxFailures)
        var shipper: JournalShipper? = nil
        var waiting = false
        var missing: [String] = []
        var shipped: [String: Int] = [:]
        var lastReport = Date()
        say("shipping \(journal) into \(ship) every \(interval) s (\(definition.tables.count) tables from the journal's definition)")
        while !NodeService.stopRequested {
            guard NodeFiles.exists(journal) else {
                if once {
                    say("no journal at \(journal) yet: nothing to ship")
                    return
                }
                if !waiting { say("no journal at \(journal) yet (no phone has called): waiting") }
                waiting = true
                NodeService.pause(interval)
                continue
            }
            waiting = false
            do {
                if shipper == nil {
                    try FileManager.default.createDirectory(atPath: FilePath.directory(of: ship), withIntermediateDirectories: true)
                    shipper = try JournalShipper(journal: journal, ship: ship, definition: definition)
                }
                let count = try shipper!.shipOnce()
                backOff.succeeded()
                if !count.addedColumns.isEmpty { say("\(ship): added column(s) \(count.addedColumns.joined(separator: ", "))") }
                if count.missingTables != missing {
                    missing = count.missingTables
                    if !missing.isEmpty { say("the journal has no \(missing.joined(separator: ", ")) yet (an older journal): left for later") }
                }
                for (table, rows) in count.rows where rows > 0 { shipped[table, default: 0] += rows }
                if once || (!shipped.isEmpty && -lastReport.timeIntervalSinceNow >= reportEvery) {
                    let total = shipped.values.reduce(0, +)
                    let detail = shipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                    say("shipped \(total) row(s)" + (once ? "" : String(format: " in %.0f s", -lastReport.timeIntervalSinceNow))
                        + (detail.isEmpty ? "" : " (\(detail))"))
                    shipped = [:]
                    lastReport = Date()
                }
                if once { return }
            } catch {
                // A connection that failed may hold a broken state: the next attempt opens a new one.
                shipper = nil
                guard let wait = backOff.failed() else {
                    say("pass failed: \(error); giving up after \(backOff.failures) failure(s) in a row")
                    throw ExitCode.failure
                }
                say("pass failed: \(error); trying again in " + String(format: "%.1f s", wait))
                NodeService.pause(wait)
                continue
            }
            NodeService.pause(interval)
        }
        // A last pass, so that the rows written up to the stop are in the copy Litestream sends.
        if let shipper, NodeFiles.exists(journal) {
            do {
                let count = try shipper.shipOnce()
                for (table, rows) in count.rows where rows > 0 { shipped[table, default: 0] += rows }
            } catch {
                say("last pass failed: \(error)")
            }
        }
        let total = shipped.values.reduce(0, +)
        say("stopped" + (total > 0 ? " (\(total) row(s) shipped since the last report)" : ""))
    }

    func say(_ message: String) { NodeService.log("journal-shipper", message) }
}
