import ArgumentParser
import Foundation
import Provisioning

/// The `--db` option every subcommand takes.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite database file.", valueName: "path"))
    var db: String?

    /// `--db`, else `PROVISIONER_DB`, else the default path.
    var path: String {
        if let db { return db }
        return ProfileService.databasePath(environment: ProcessInfo.processInfo.environment)
    }

    /// Opens the store read-write, creating the file only when `create` is set.
    func open(create: Bool = false) throws -> DeviceStore {
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("database: no file at \(path) (run `provctl init`, or pass --db / set PROVISIONER_DB)")
        }
        return try DeviceStore(path: path, mode: create ? .create : .readWrite)
    }
}

/// Who made a change, for the audit log: `SUDO_USER`, else `USER`.
func currentUser() -> String {
    let environment = ProcessInfo.processInfo.environment
    return environment["SUDO_USER"] ?? environment["USER"] ?? "unknown"
}

/// Parses a MAC argument in any spelling, or fails naming the field.
func parseMAC(_ text: String, field: String = "MAC") throws -> MACAddress {
    guard let mac = MACAddress(text) else {
        throw ValidationError("\(field): \"\(text)\" is not a MAC address (12 hex digits, optionally separated by : or -)")
    }
    return mac
}

/// Parses a scope argument, or fails naming the rule.
func parseScope(_ text: String) throws -> Scope {
    guard let scope = Scope(text) else {
        throw ValidationError("scope: \"\(text)\" must be default, model:NAME, group:NAME or device:MAC")
    }
    return scope
}
