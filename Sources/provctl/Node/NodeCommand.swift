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

/// File helpers for the keeper (POSIX, paths as given).
enum NodeFiles {
    /// `path`, made absolute against the working folder when relative.
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// LINK (a symbolic link) now names TARGET: a new link renamed over the old, so a reader finds one or the other.
    static func point(_ link: String, at target: String) throws {
        let temporary = link + ".new"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw NodeError("symlink \(temporary): \(errorText())") }
        guard rename(temporary, link) == 0 else { throw NodeError("rename \(temporary) to \(link): \(errorText())") }
    }

    /// Removes the files of FOLDER named `NAME-…` that do not start with `keep`; a reader that has one open keeps
    /// its inode until it closes.
    static func prune(_ folder: String, name: String, keep: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries where entry.hasPrefix(name + "-") {
            let full = folder + "/" + entry
            if !full.hasPrefix(keep) { unlink(full) }
        }
    }

    /// Group `group` (by name) and mode `mode` for `path`.
    static func share(_ path: String, group: String?, mode: mode_t) throws {
        if let group {
            guard let entry = getgrnam(group) else { throw NodeError("--group: no group \(group)") }
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else { throw NodeError("chown \(path): \(errorText())") }
        }
        guard chmod(path, mode) == 0 else { throw NodeError("chmod \(path): \(errorText())") }
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}

struct NodeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child program (Litestream), started with posix_spawn and watched with waitpid: it inherits standard output
/// and error (one log), no signal mask and default dispositions (the service ignores SIGPIPE; the child must not).
struct ChildProcess {
    let pid: pid_t
    private(set) var status: Int32? = nil

    init(_ program: String, _ arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv = ([program] + arguments).map { strdup($0) }
        argv.append(nil)
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw NodeError("cannot start \(program): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// True while the child runs; once it ended, `status` holds its exit status (128 + signal when killed).
    mutating func isRunning() -> Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        let waited = waitpid(pid, &raw, WNOHANG)
        if waited == 0 || (waited < 0 && errno == EINTR) { return true }
        status = waited == pid ? ((raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)) : -1
        return false
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for the end.
    mutating func stop(grace: Double = 10) {
        guard isRunning() else { return }
        kill(pid, SIGTERM)
        let end = Date().addingTimeInterval(grace)
        while isRunning() {
            if Date() > end { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }
}
