import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Show or set how long this node's journal keeps the fetch history.",
        discussion: """
            Rows of `fetches` (and the phone's syslog lines) older than --max-age days go, and per device only \
            the newest --max-per-device rows stay (0: no limit). Without a setting: \
            \(Journal.Retention.standard.maxAgeDays) days, \(Journal.Retention.standard.maxPerDevice) rows. \
            profile-cgi prunes as it writes, at most \(Journal.pruneBatch) rows per rule after every \(Journal.pruneEvery)th request, in \
            the transaction it holds anyway; `provctl prune` prunes everything due in short transactions (for a \
            timer, after lowering the limits). The setting lives in the journal: set it on each node.
            Examples: provctl retention
                      provctl retention --max-age 30 --max-per-device 500
            """
    )

    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Keep rows this many days (0: no age limit).", valueName: "days")) var maxAge: Int?
    @Option(help: ArgumentHelp("Keep at most this many rows per device (0: no limit).", valueName: "rows")) var maxPerDevice: Int?
    @Flag(name: .customLong("json"), help: "Print JSON (for scripts).") var jsonOutput = false

    func validate() throws {
        if let maxAge, maxAge < 0 || maxAge > 36_500 { throw ValidationError("--max-age: \(maxAge) must be 0..36500 days") }
        if let maxPerDevice, maxPerDevice < 0 { throw ValidationError("--max-per-device: \(maxPerDevice) must be 0 or more") }
    }

    func run() throws {
        let journal = try openLocalJournal(store)
        var policy = try Journal.retention(journal)
        if maxAge != nil || maxPerDevice != nil {
            policy.maxAgeDays = maxAge ?? policy.maxAgeDays
            policy.maxPerDevice = maxPerDevice ?? policy.maxPerDevice
            try LoopJournal.setRetention(journal, policy, at: Clock.unixSeconds(), by: currentUser())
        }
        if jsonOutput {
            printJSON(.sorted(["journal": .string(store.journals.local), "max_age_days": .int(policy.maxAgeDays),
                               "max_per_device": .int(policy.maxPerDevice)]))
        } else {
            print("\(store.journals.local): keep \(policy.maxAgeDays == 0 ? "rows of any age" : "\(policy.maxAgeDays) days"), "
                  + (policy.maxPerDevice == 0 ? "no limit per device" : "at most \(policy.maxPerDevice) rows per device"))
        }
    }
}

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune this node's journal to its retention now, in short transactions.",
        discussion: """
            Deletes what `provctl retention` no longer keeps, at most \(Prune.batch) rows per transaction, so \
            profile-cgi's writes (which wait at most PROVISIONER_JOURNAL_WAIT_MS for the lock) slip in between. \
            Safe to run from a timer.
            Example: provctl prune
            """
    )

    static let batch = 250

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption

    func run() throws {
        let journal = try openLocalJournal(store)
        let pruned = try LoopJournal.pruneAll(journal, now: Clock.unixMicroseconds(), batch: Self.batch)
        let deleted = pruned.deleted, policy = pruned.policy
        let policyText = policy.maxAgeDays == 0 ? "no age limit" : "\(policy.maxAgeDays) days"
        Output.emit(ValueResult(json: JSON.object([
            ("journal", .string(store.journals.local)), ("deleted", .int(deleted)),
            ("max_age_days", .int(policy.maxAgeDays)), ("max_per_device", .int(policy.maxPerDevice)),
        ]), text: "pruned \(deleted) row(s) from \(store.journals.local) (\(policyText), "
            + (policy.maxPerDevice == 0 ? "no limit per device)" : "\(policy.maxPerDevice) rows per device)")), json: format.json)
    }
}
