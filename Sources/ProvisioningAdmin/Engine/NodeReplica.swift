import Foundation
public import Provisioning
#if canImport(Glibc)
import Glibc
#endif

/// `provctl node replica-keeper`: keeps LINK naming a consistent copy of the configuration database that Litestream
/// restores and follows (`litestream restore -f`), restarting Litestream with back-off when it exits; with
/// `publish`, a snapshot of the follower is published for each new TXID instead of the follower itself.
public struct ReplicaKeepingService {
    /// Litestream's path.
    public var program: String
    public var config: String
    public var database: String
    public var link: String
    public var copies: String
    public var publish: String?
    public var group: String?
    public var followInterval: String
    public var backoffMax: Double
    public var maxFailures: Int

    public init(program: String, config: String, database: String, link: String, copies: String, publish: String?,
                group: String?, followInterval: String, backoffMax: Double, maxFailures: Int) {
        (self.program, self.config, self.database, self.link, self.copies) = (program, config, database, link, copies)
        (self.publish, self.group, self.followInterval) = (publish, group, followInterval)
        (self.backoffMax, self.maxFailures) = (backoffMax, maxFailures)
    }

    public typealias End = JournalShippingService.End

    public func run(_ host: NodeServiceHost) throws -> End {
        let say = host.log
        // Absolute paths: the link's target and the prune's kept prefix are compared as strings.
        let copies = NodeFiles.absolute(self.copies), link = NodeFiles.absolute(self.link)
        let publish = self.publish.map(NodeFiles.absolute)
        for folder in [copies] + (publish.map { [$0] } ?? []) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var name = (link as NSString).lastPathComponent
        if let dot = name.range(of: ".db", options: .backwards) { name = String(name[..<dot.lowerBound]) }
        var backOff = BackOff(first: 1, limit: backoffMax, maxFailures: maxFailures)
        var generation = 0
        var published: Stamp? = nil
        say("keeping \(link) from \(database) (config \(config)\(publish.map { ", publishing into \($0)" } ?? ""))")
        while !host.stopRequested() {
            generation += 1
            let target = "\(copies)/\(name)-\(Int(Date().timeIntervalSince1970))-\(generation).db"
            var child: ChildProcess
            do {
                child = try ChildProcess(program, ["restore", "-config", config, "-f", "-follow-interval", followInterval,
                                                   "-o", target, database])
            } catch {
                say("\(error)")
                guard let wait = backOff.failed() else { return .gaveUp }
                host.pause(wait)
                continue
            }
            say("restoring \(database) into \(target) (litestream pid \(child.pid))")
            var ready = false
            while child.isRunning() && !host.stopRequested() {
                if !ready && NodeFiles.exists(target) && NodeFiles.exists(target + "-txid") {
                    ready = true
                    backOff.succeeded()
                    NodeFiles.prune(copies, name: name, keep: target)
                    if publish == nil {
                        do {
                            try NodeFiles.share(target, group: group, mode: 0o640)
                            try NodeFiles.point(link, at: target)
                            say("\(link) -> \(target)")
                        } catch {
                            say("cannot serve \(target): \(error)")
                        }
                    }
                }
                if ready, let publish, let stamp = Stamp.of(target), stamp != published {
                    generation += 1
                    let out = "\(publish)/\(name)-\(Int(Date().timeIntervalSince1970))-\(generation).db"
                    do {
                        try publishCopy(of: target, as: out)
                        try NodeFiles.point(link, at: out)
                        NodeFiles.prune(publish, name: name, keep: out)
                        published = stamp
                        say("\(link) -> \(out) (txid \(stamp.txid))")
                    } catch {
                        unlink(out + ".tmp")
                        say("copying \(target): \(error); trying again")
                    }
                }
                usleep(100_000)
            }
            if host.stopRequested() {
                child.stop()
                break
            }
            if !ready {
                // The failed attempt's files go; in direct mode the copy being served stays.
                let serving = publish == nil && NodeFiles.exists(link) ? FilePath.resolved(link) : nil
                NodeFiles.prune(copies, name: name, keep: serving ?? target + "\0")
            }
            guard let wait = backOff.failed() else {
                say("litestream exited with status \(child.status ?? -1) \(backOff.failures) times in a row; giving up")
                return .gaveUp
            }
            say("litestream exited with status \(child.status ?? -1); "
                + (NodeFiles.exists(link) ? "serving the last copy, restoring a new one" : "no copy yet, trying again")
                + String(format: " in %.0f s", wait))
            host.pause(wait)
        }
        say("stopped (\(link) stays)")
        return .stopped
    }

    /// A consistent copy of the follower, published as OUT: written to OUT.tmp, given its group and mode, renamed.
    func publishCopy(of follower: String, as out: String) throws {
        let temporary = out + ".tmp"
        unlink(temporary)
        unlink(temporary + "-journal")
        try Snapshot.copy(from: follower, to: temporary)
        try NodeFiles.share(temporary, group: group, mode: 0o640)
        guard rename(temporary, out) == 0 else { throw NodeError("rename \(temporary): \(NodeFiles.errorText())") }
    }
}

/// What a follower's state looks like from outside: which file, its TXID file, size and modification time.
struct Stamp: Equatable {
    var path: String
    var txid: String
    var modified: Int
    var size: Int

    static func of(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0,
              let txid = try? String(contentsOfFile: path + "-txid", encoding: .utf8) else { return nil }
        return Stamp(path: path, txid: txid.trimmingCharacters(in: .whitespacesAndNewlines),
                     modified: Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec), size: Int(info.st_size))
    }
}

/// File helpers for the keeper (POSIX, paths as given).
public enum NodeFiles {
    /// `path`, made absolute against the working folder when relative.
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// LINK (a symbolic link) now names TARGET: a new link renamed over the old, so a reader finds one or the other.
    public static func point(_ link: String, at target: String) throws(NodeError) {
        let temporary = link + ".new"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw NodeError("symlink \(temporary): \(errorText())") }
        guard rename(temporary, link) == 0 else { throw NodeError("rename \(temporary) to \(link): \(errorText())") }
    }

    /// Removes the files of FOLDER named `NAME-…` that do not start with `keep`; a reader that has one open keeps
    /// its inode until it closes.
    public static func prune(_ folder: String, name: String, keep: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries where entry.hasPrefix(name + "-") {
            let full = folder + "/" + entry
            if !full.hasPrefix(keep) { unlink(full) }
        }
    }

    /// Group `group` (by name) and mode `mode` for `path`.
    public static func share(_ path: String, group: String?, mode: UInt32) throws(NodeError) {
        if let group {
            guard let entry = getgrnam(group) else { throw NodeError("--group: no group \(group)") }
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else { throw NodeError("chown \(path): \(errorText())") }
        }
        guard chmod(path, mode) == 0 else { throw NodeError("chmod \(path): \(errorText())") }
    }

    public static func errorText() -> String { String(cString: strerror(errno)) }
}

public struct NodeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A child program (Litestream), started with posix_spawn and watched with waitpid: it inherits standard output
/// and error (one log), no signal mask and default dispositions (the service ignores SIGPIPE; the child must not).
public struct ChildProcess {
    public let pid: Int32
    public private(set) var status: Int32? = nil

    public init(_ program: String, _ arguments: [String]) throws(NodeError) {
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
    public mutating func isRunning() -> Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        let waited = waitpid(pid, &raw, WNOHANG)
        if waited == 0 || (waited < 0 && errno == EINTR) { return true }
        status = waited == pid ? ((raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)) : -1
        return false
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for the end.
    public mutating func stop(grace: Double = 10) {
        guard isRunning() else { return }
        kill(pid, SIGTERM)
        let end = Date().addingTimeInterval(grace)
        while isRunning() {
            if Date() > end { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }
}
