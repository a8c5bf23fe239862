import Foundation
import Hummingbird
import Logging
import ProvisioningAdmin

// provisioner-admind: the admin API of api/openapi.yaml on a Unix socket, behind Apache's admin virtual host, and
// the runner of the jobs it starts. Apache authenticates the admin and passes the user and role as headers; the
// daemon listens on nothing but its socket (mode 0660, group of the web server), so those headers can only come
// from a process allowed to open it.

let options: DaemonOptions
do {
    options = try DaemonOptions(arguments: Array(CommandLine.arguments.dropFirst()),
                                environment: ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("provisioner-admind: \(error)\n".utf8))
    exit(64)
}
if options.help {
    print(DaemonOptions.usage)
    exit(0)
}
do {
    try await AdminDaemon(options: options).run()
} catch {
    FileHandle.standardError.write(Data("provisioner-admind: \(error)\n".utf8))
    exit(1)
}
