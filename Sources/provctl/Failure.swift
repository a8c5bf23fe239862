import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// A failure with its documented exit status. `ValidationError` (a malformed argument) stays ArgumentParser's
/// and exits 64.
struct Failure: Error, CustomStringConvertible {
    /// The exit statuses `provctl --help` documents.
    enum Kind: Int32 {
        /// A `--dry-run` that found nothing to change: stop before the "changed" line, exit 0.
        case nothingWritten = 0
        /// The database is missing or unreadable, SQLite failed, a file could not be read or written.
        case runtime = 1
        /// `--dry-run`: at least one device's profile would change (nothing was written).
        case wouldChange = 2
        /// No such device, claim, setting or variable.
        case notFound = 3
        /// The MAC is already a device, or the target is taken.
        case conflict = 4
        /// `provctl check` found problems.
        case problems = 5
        /// `provctl resync`: at least one phone did not accept the push.
        case pushFailed = 6
        /// A value breaks a rule; a CSV or profile file is malformed. Nothing was written.
        case refused = 65
    }

    var kind: Kind
    var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var description: String { message }

    static func refused(_ violation: RuleViolation) -> Failure { Failure(.refused, "refused: \(violation)") }
}

/// Writes one line to stderr.
func warn(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
