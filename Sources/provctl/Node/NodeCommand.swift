import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "The fleet's long-lived services: the replica keeper and the journal shipper (docs/cluster.md).",
        discussion: """
            Each runs in the foreground until SIGTERM (or SIGINT), logs one line per event on standard output \
            (systemd's journal), never a secret, and retries what fails with a back-off. systemd units: \
            provisioner-replica.service and provisioner-journal-shipper.service.
            """,
        subcommands: [ReplicaKeeper.self, JournalShipperCommand.self]
    )
}

/// What the node services share: the stop signal, the log line, the back-off, the wait.
enum NodeService {
    /// Non-zero once SIGTERM or SIGINT arrived (written by the signal handler only).
    nonisolated(unsafe) static var stopSignal: Int32 = 0

    static var stopRequested: Bool { stopSignal != 0 }

    /// SIGTERM and SIGINT ask for a clean stop: the current step finishes, children are stopped, the process exits 0.
    static func installSignals() {
        stopSignal = 0
        for number in [SIGTERM, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in NodeService.stopSignal = number }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
        signal(SIGPIPE, SIG_IGN)
        // A launcher may have blocked them (the mask survives exec): unblocked, or a stop would never arrive.
        var stops = sigset_t()
        sigemptyset(&stops)
        sigaddset(&stops, SIGTERM)
        sigaddset(&stops, SIGINT)
        sigprocmask(SIG_UNBLOCK, &stops, nil)
    }

    /// One log line on standard output: `NAME: MESSAGE`. Callers never pass a secret (no row contents, no
    /// configuration contents: paths, counts and SQLite's or Litestream's error text only).
    static func log(_ name: String, _ message: String) {
        let line = "\(name): " + message.replacingOccurrences(of: "\n", with: " ") + "\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    /// Waits `seconds`, or less when a stop is requested; true if it waited the whole time.
    @discardableResult
    static func pause(_ seconds: Double) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while !stopRequested {
            let left = end.timeIntervalSinceNow
            if left <= 0 { return true }
            usleep(useconds_t(min(left, 0.05) * 1_000_000))
        }
        return false
    }
}

/// The options every node service takes for its retries.
struct RetryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Longest wait between two attempts after failures, in seconds (the wait doubles from the first).",
                               valueName: "seconds"))
    var backoffMax: Double = 30

    @Option(help: ArgumentHelp("Give up (exit 1, for systemd to restart) after this many failures in a row; 0: never.",
                               valueName: "n"))
    var maxFailures: Int = 0

    func validate() throws {
        guard backoffMax > 0, backoffMax <= 3600 else { throw ValidationError("--backoff-max: must be 0 < seconds <= 3600") }
        guard maxFailures >= 0 else { throw ValidationError("--max-failures: must be 0 or more") }
    }
}
