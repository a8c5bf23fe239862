import Foundation
import NIOPosix
import Provisioning
import ProvisioningAdmin

/// The configuration database as the API uses it: every call opens the store the way provctl does (read-write,
/// journals attached) on a thread of the blocking pool, so a slow scan never holds up the event loop, and closes
/// it when done. Changes run one at a time (`writer`): two admins' writes never fight over SQLite's lock, and a
/// write's If-Match check and its change happen in the same turn.
struct AdminStore: Sendable {
    let databasePath: String
    let journals: JournalFiles
    let etags: ETagKey
    private let writer = Serial()

    init(databasePath: String, etags: ETagKey) {
        self.databasePath = databasePath
        self.journals = JournalFiles(databasePath: databasePath, environment: ProcessInfo.processInfo.environment)
        self.etags = etags
    }

    /// Runs `body` on an open store.
    func read<T: Sendable>(_ body: @escaping @Sendable (ConfigurationEditor) throws -> T) async throws -> T {
        let path = databasePath, journals = journals
        return try await NIOThreadPool.singleton.runIfActive {
            try body(try AdminStore.open(path, journals))
        }
    }

    /// Runs a change on an open store, after the changes before it, for `caller` (the audit's user).
    func write<T: Sendable>(_ caller: Caller, mode: ChangeMode = ChangeMode(),
                            _ body: @escaping @Sendable (ConfigurationEditor, AdminSession, ChangeMode) throws -> T) async throws -> T {
        try await writer.run {
            try await read { store in
                let warnings = Warnings()
                let session = AdminSession(who: caller.who, disclosure: caller.disclosure, warn: { warnings.append($0) })
                return try body(store, session, mode)
            }
        }
    }

    static func open(_ path: String, _ journals: JournalFiles) throws -> ConfigurationEditor {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AdminError(.runtime, "database: no file at \(path) (run provctl init)")
        }
        let store: ConfigurationEditor
        do {
            store = try ConfigurationEditor(path: path, mode: .readWrite)
            _ = try store.attachJournals(journals)
        } catch {
            throw AdminError(.runtime, "database \(path): \(error)", underlying: error)
        }
        return store
    }
}

/// Runs async work one at a time, in the order it came.
actor Serial {
    private var tail: Task<Void, Never>?

    func run<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tail
        let task = Task<T, any Error> {
            await previous?.value
            return try await work()
        }
        tail = Task { _ = try? await task.value }
        return try await task.value
    }
}

/// Warnings the engine gave during one change (provctl prints them to stderr; the API answers them).
final class Warnings: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func append(_ text: String) { lock.withLock { items.append(text) } }
    var all: [String] { lock.withLock { items } }
}

/// The key ETags are made with: an ETag is an HMAC of the resource's full content (secrets included) under a key
/// only the daemon holds, so it changes whenever anything of the resource does and reveals nothing of a secret.
/// Kept in the state folder (`etag.key`, mode 0600) so that ETags survive a restart.
struct ETagKey: Sendable {
    let key: [UInt8]

    init(stateDirectory: String) throws {
        let path = stateDirectory + "/etag.key"
        if let data = FileManager.default.contents(atPath: path), data.count == 32 {
            key = Array(data)
            return
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard bytes.withUnsafeMutableBytes({ KernelRandom.fill($0).ok }) else {
            throw AdminError(.runtime, "etag.key: the kernel gave no random bytes")
        }
        let created = FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        guard created else { throw AdminError(.runtime, "\(path): cannot be written (see --state)") }
        key = bytes
    }

    /// The strong ETag of `content`: a quoted HMAC-SHA-256, 32 hex digits.
    func tag(_ content: [UInt8]) -> String {
        "\"" + Hex.encode(Array(HMACSHA256.mac(key: key, content).prefix(16))) + "\""
    }

    func tag(_ content: JSON) -> String { tag(content.bytes) }
}
