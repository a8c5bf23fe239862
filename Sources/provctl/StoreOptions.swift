import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// The `--db` option every subcommand takes.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite database file.", valueName: "path"))
    var db: String?

    /// `--db`, else `PROVISIONER_DB`, else the default path.
    var path: String {
        if let db { return db }
        return Configuration(environment: ProcessInfo.processInfo.environment).databasePath
    }

    /// The journals read beside the database: this node's and those brought home from other nodes.
    var journals: JournalFiles {
        JournalFiles(databasePath: path, environment: ProcessInfo.processInfo.environment)
    }

    /// Opens the store read-write, creating the file only when `create` is set.
    func open(create: Bool = false) throws -> DeviceStore {
        if let denied = permissionProblem(create: create) { throw denied }
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw Failure(.runtime, "database: no file at \(path) (run `provctl init`, or pass --db / set PROVISIONER_DB)")
        }
        LockHolders.databasePath = path
        let store: DeviceStore
        do {
            store = try DeviceStore(path: path, mode: create ? .create : .readWrite)
        } catch {
            throw permissionProblem(create: create, writing: true) ?? Failure(.runtime, "database \(path): \(error)", underlying: error)
        }
        do {
            try store.attachJournals(journals)
        } catch {
            throw Failure(.runtime, "journal: \(error)", underlying: error)
        }
        return store
    }

    /// The real cause when this user may not reach, read or (`writing`) write the database or its folder:
    /// "permission denied", never "no file" for a file that exists (issue 21). Nil when access is not the problem.
    func permissionProblem(create: Bool, writing: Bool = false) -> Failure? {
        let folder = FilePath.directory(of: path)
        let advice = "; run provctl as a user who may (the database's owner, or root), and see provctl check --permissions-only"
        func denied(_ what: String) -> Failure {
            Failure(.runtime, "database \(path): permission denied: \(what)" + advice, field: "--db", rule: "readable and writable by this user")
        }
        if access(path, F_OK) != 0 {
            if errno == EACCES { return denied("a folder above it cannot be entered by this user") }
            if create && access(folder, W_OK) != 0 && errno == EACCES { return denied("this user cannot create files in \(folder)") }
            return nil
        }
        if access(path, R_OK) != 0 { return denied("this user cannot read it") }
        if writing && access(path, W_OK) != 0 { return denied("this user cannot write it") }
        if writing && access(folder, W_OK) != 0 {
            return denied("this user cannot create its -wal and -shm files in \(folder)")
        }
        return nil
    }

    /// Opens the store for a command that only reads (`check`): as `open()` does, or, when that fails for another
    /// reason than a lock (a full or read-only disk, where SQLite cannot make the `-shm` file a writer needs),
    /// read-only the way profile-cgi opens it, with a note on stderr.
    func openForReading() throws -> DeviceStore {
        do {
            return try open()
        } catch let failure as Failure where FileManager.default.fileExists(atPath: path) && !failure.isLockHeld {
            guard let store = try? DeviceStore(serving: path) else { throw failure }
            warn("provctl: note: \(failure.message); reading it without writing, as profile-cgi does")
            if (try? store.attachJournals(journals)) == nil { warn("provctl: note: the journals could not be read") }
            return store
        }
    }
}

/// `--json` alone, for commands whose output holds no secret (history stores them masked).
struct JSONOption: ParsableArguments {
    @Flag(help: "Print JSON (for scripts) instead of a table.") var json = false
}

/// `--json` and `--show-secrets`, for every command that prints stored data.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (for scripts) instead of a table.") var json = false
    @Flag(help: "Show passwords, keys and the --key/--pwd of rules instead of ***.") var showSecrets = false

    /// What may be printed: secrets masked unless `--show-secrets`.
    var disclosure: Disclosure { Disclosure(showSecrets: showSecrets) }

    /// A parameter value as it may be printed.
    func shown(name: String, value: String) -> String { disclosure.shown(name: name, value: value) }

    /// A variable value as it may be printed.
    func shown(variable name: String, value: String, secretNames: Set<String> = []) -> String {
        disclosure.shown(variable: name, value: value, secretNames: secretNames)
    }

    /// An encryption key as it may be printed.
    func shown(key: String?) -> String? { disclosure.shown(key: key) }
}

/// Who made a change, for the audit log: `SUDO_USER`, else `USER`.
func currentUser() -> String {
    let environment = ProcessInfo.processInfo.environment
    if let user = environment["SUDO_USER"], !user.isEmpty { return user }
    if let user = environment["USER"], !user.isEmpty { return user }
    return "uid \(getuid())"
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

/// The scope a change applies to: one positional argument, checked while the command line is parsed.
struct ScopeArgument: ParsableArguments {
    @Argument(help: "default, model:NAME, group:NAME or device:MAC.", completion: .custom(Completion.scopes)) var scope: String

    func validate() throws { _ = try parseScope(scope) }

    /// The scope, parsed (`validate` has already refused a bad one).
    func parsed() throws -> Scope { try parseScope(scope) }
}

/// The scope a listing is limited to, or every scope when it is left out.
struct OptionalScopeArgument: ParsableArguments {
    @Argument(help: "default, model:NAME, group:NAME or device:MAC; every scope when left out.",
              completion: .custom(Completion.scopes)) var scope: String?

    func validate() throws { _ = try parsed() }

    func parsed() throws -> Scope? { try scope.map(parseScope) }
}

/// One or more devices, by MAC in any spelling, checked while the command line is parsed.
struct MACsArgument: ParsableArguments {
    @Argument(help: "MACs, in any spelling.", completion: .custom(Completion.macs)) var macs: [String]

    func validate() throws { _ = try parsed() }

    func parsed() throws -> [MACAddress] { try macs.map { try parseMAC($0) } }
}

/// `NAME=VALUE` split at the first `=`.
func splitAssignment(_ text: String) throws -> (String, String) {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw ValidationError("assignment: \"\(text)\" must be NAME=VALUE")
    }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
}

/// `--partition NAME`: the partition of the profile a command works on (the main profile without it).
struct PartitionOption: ParsableArguments {
    @Option(help: ArgumentHelp("A partition of the profile (a-z 0-9 _, at most 32), fetched as $MA-NAME.xml; the main profile without it.",
                               valueName: "name")) var partition: String?

    func check() throws {
        if let partition, !Partition.isValidName(partition) {
            throw ValidationError("--partition: \"\(partition)\" must be 1 to \(Partition.maximumLength) of a-z, 0-9 and _")
        }
    }

    /// The stored form: '' for the main profile.
    var name: String { partition ?? "" }

    /// ` partition NAME` for messages, empty for the main profile.
    var suffix: String { partition.map { " partition \($0)" } ?? "" }
}
