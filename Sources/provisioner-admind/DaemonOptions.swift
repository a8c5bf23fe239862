import Provisioning

/// What the daemon is started with: `--socket PATH`, `--db PATH` (else `PROVISIONER_DB`, else the default),
/// `--state DIR` (jobs and the ETag key; default: the database's folder), `--socket-group NAME`.
struct DaemonOptions: Sendable {
    var socketPath = "/run/provisioner/admin.sock"
    var databasePath: String
    var stateDirectory: String?
    var socketGroup: String?
    var help = false

    static let usage = """
        usage: provisioner-admind [--socket PATH] [--db PATH] [--state DIR] [--socket-group GROUP]
          --socket PATH        the Unix socket Apache's admin virtual host proxies to (default /run/provisioner/admin.sock)
          --db PATH            the configuration database (default: $PROVISIONER_DB, else /var/lib/provisioner/provisioner.db)
          --state DIR          where jobs and the ETag key are kept (default: the database's folder)
          --socket-group NAME  the group that may open the socket (the web server's, e.g. www-data)
        """

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    init(arguments: [String], environment: [String: String]) throws {
        databasePath = Configuration(environment: environment).databasePath
        var rest = arguments[...]
        func value(_ option: String) throws -> String {
            guard let next = rest.popFirst(), !next.isEmpty else {
                throw Invalid(description: "\(option): a value is required")
            }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--socket": socketPath = try value(argument)
            case "--db": databasePath = try value(argument)
            case "--state": stateDirectory = try value(argument)
            case "--socket-group": socketGroup = try value(argument)
            case "-h", "--help": help = true
            default: throw Invalid(description: "\(argument): not an option of provisioner-admind (see --help)")
            }
        }
    }

    /// The folder jobs and the ETag key live in.
    var state: String {
        if let stateDirectory { return stateDirectory }
        guard let slash = databasePath.lastIndex(of: "/") else { return "." }
        return slash == databasePath.startIndex ? "/" : String(databasePath[..<slash])
    }
}
