#if canImport(Glibc)
import Glibc
#endif

/// One request from environment to answer: Request → ClientIdentity → DeviceStore (LayerRows) → Resolver →
/// FlatProfile → ProfileEncoding → CGIResponse. Every outcome, refusals included, comes back with its log line.
///
/// One SQLite connection serves the whole request. It is read-only, unless `recordsSeen` is set: then it is opened
/// read-write (never creating, never migrating) so that the `seen` row can be written after the answer without a
/// second connection, which would parse the schema again (measured: about 0.35M instructions, a quarter of a
/// request).
public final class ProfileService {
    /// The SQLite file, from `PROVISIONER_DB` or `DeviceStore.defaultPath`.
    public let databasePath: String
    /// Whether `recordSeen` will write the `seen` table (`PROVISIONER_RECORD_SEEN`, on unless `0`).
    public let recordsSeen: Bool
    /// The request's connection, kept for `recordSeen` and closed with the service.
    var store: DeviceStore?

    public init(databasePath: String, recordsSeen: Bool = false) {
        self.databasePath = databasePath
        self.recordsSeen = recordsSeen
    }

    /// `PROVISIONER_RECORD_SEEN` as the CGI reads it: on unless it is `0`.
    public static func recordsSeen(environment: StringTable) -> Bool { environment["PROVISIONER_RECORD_SEEN"] != "0" }

    /// The database path the environment names: `PROVISIONER_DB`, else `/var/lib/provisioner/provisioner.db`.
    public static func databasePath(environment: StringTable) -> String {
        if let path = environment["PROVISIONER_DB"], !path.isEmpty { return path }
        return DeviceStore.defaultPath
    }

    /// Answers one CGI request. `now` is Unix seconds, for claims.
    public func respond(environment: StringTable, now: Int) -> (response: CGIResponse, log: RequestLog) {
        var log = RequestLog(environment: environment)
        let isHead = environment["REQUEST_METHOD"] == "HEAD"
        do {
            let (response, form) = try answer(environment: environment, now: now, log: &log)
            log.status = response.status
            log.reason = "ok"
            log.form = form.rawValue
            log.bytes = response.body.count
            return (response, log)
        } catch {
            log.status = error.status
            log.reason = error.reason
            log.detail = error.detail
            let response = CGIResponse(refusal: error, omitsBody: isHead)
            log.bytes = response.body.count
            return (response, log)
        }
    }

    func answer(environment: StringTable, now: Int, log: inout RequestLog) throws(Refusal) -> (CGIResponse, ProfileForm) {
        let request = try ProfileRequest(environment: environment)
        let identity = try ClientIdentity.from(environment: environment)
        log.identify(identity)
        if let named = request.namedMAC, named != identity.mac {
            throw Refusal(403, "MAC mismatch", detail: "path names \(named), certificate is \(identity.mac)")
        }
        if let agentMAC = log.userAgent?.mac, agentMAC != identity.mac {
            log.notes.append("user-agent MAC \(agentMAC) differs from certificate")
        }
        let store: DeviceStore
        do {
            store = try DeviceStore(serving: databasePath, writable: recordsSeen)
            self.store = store
        } catch {
            throw .serverError("database unavailable: \(error)")
        }
        let device = try knownDevice(store: store, identity: identity, environment: environment, now: now, log: &log)
        guard device.enabled else { throw Refusal(403, "device disabled") }
        if let stored = device.serial, !Self.matches(stored, identity.serial) {
            throw Refusal(403, "serial mismatch", detail: "stored \(stored), certificate \(identity.serial ?? "none")")
        }
        if let stored = device.model, !Self.matches(stored, identity.model) {
            throw Refusal(403, "model mismatch", detail: "stored \(stored), certificate \(identity.model ?? "none")")
        }
        let body = try Self.profile(store: store, device: device, identity: identity, form: request.form)
        let type = request.form == .xml ? "text/xml; charset=utf-8" : "application/octet-stream"
        return (CGIResponse(status: 200, contentType: type, body: body, omitsBody: request.isHead), request.form)
    }

    /// The stored device the certificate names; an unknown one is remembered as a claim and answered 404.
    func knownDevice(store: DeviceStore, identity: ClientIdentity, environment: StringTable, now: Int,
                     log: inout RequestLog) throws(Refusal) -> Device {
        do {
            if let device = try store.device(mac: identity.mac) { return device }
        } catch {
            throw .serverError("database unavailable: \(error)")
        }
        rememberClaim(identity: identity, environment: environment, now: now, log: &log)
        throw Refusal(404, "unknown device")
    }

    /// A stored serial or model against the certificate's, ignoring case; a certificate without one matches only
    /// an empty stored value.
    static func matches(_ stored: String, _ presented: String?) -> Bool {
        guard let presented else { return stored.isEmpty }
        return stored.equalsIgnoringCase(presented)
    }

    /// The body a phone with `identity` receives for `device` in `form`: exactly what the CGI sends, and what
    /// `provctl render` prints.
    public static func profile(store: DeviceStore, device: Device, identity: ClientIdentity, form: ProfileForm) throws(Refusal) -> [UInt8] {
        let rows: LayerRows
        do {
            rows = try store.layerRows(model: device.model(presentedBy: identity), group: device.group, mac: device.mac)
        } catch {
            throw .serverError("reading settings: \(error)")
        }
        let resolved = try rows.resolve(device: device, identity: identity)
        return try ProfileEncoding.encode(FlatProfile.render(rows, resolved), form: form, device: device)
    }

    /// After a 200 has been written: records that the device was seen (the `seen` table), on the request's own
    /// connection. Runs after the answer so the phone never waits for it; a failure only adds a note to the log.
    public func recordSeen(log: inout RequestLog, now: Int) {
        guard recordsSeen, log.status == 200, let mac = log.mac, let store else { return }
        do {
            try Self.prepareForBookkeeping(store.database)
            try DeviceStore.recordSeen(on: store.database, mac: mac, remoteAddress: log.remoteAddress,
                                       firmware: log.userAgent?.firmware, now: now)
        } catch {
            log.notes.append("seen not recorded: \(error)")
            return
        }
        // A checkpoint that finds readers busy is left to a later request.
        try? Self.checkpointIfLarge(store.database, path: databasePath)
    }

    /// Writes the claim: on the request's connection when it is writable, else on one of its own. A failure is
    /// logged and the answer stays 404.
    func rememberClaim(identity: ClientIdentity, environment: StringTable, now: Int, log: inout RequestLog) {
        do {
            let writer: SQLiteDatabase
            if recordsSeen, let store {
                writer = store.database
            } else {
                writer = try SQLiteDatabase(path: databasePath, mode: .readWrite)
            }
            try Self.prepareForBookkeeping(writer)
            try DeviceStore.recordClaim(on: writer, identity: identity, remoteAddress: environment["REMOTE_ADDR"],
                                        userAgent: environment["HTTP_USER_AGENT"], now: now)
            try? Self.checkpointIfLarge(writer, path: databasePath)
        } catch {
            log.notes.append("claim not recorded: \(error)")
        }
    }

    /// The size of write-ahead log above which the CGI checkpoints it after its write: 64 frames of 4 KB pages.
    static let walCheckpointBytes = 32 + 64 * (24 + 4096)

    /// Keeps the write-ahead log short. A CGI process is usually the only connection to the file, so SQLite
    /// rebuilds the WAL index from the whole log when it opens, and a process that exits without closing never
    /// resets the log: left alone, each `seen` row made the log longer and every later request slower (measured
    /// on the 1,000-device database: 1.8 ms per request over the first 300, 7.2 ms by the 1,800th, with a 7 MB
    /// log). Past `walCheckpointBytes` the writer copies the log into the database and truncates it, after the
    /// answer has gone out; a busy reader only postpones that to a later request.
    static func checkpointIfLarge(_ database: SQLiteDatabase, path: String) throws(SQLiteError) {
        var info = stat()
        guard stat(path + "-wal", &info) == 0, Int(info.st_size) > walCheckpointBytes else { return }
        try database.checkpointAndTruncate()
    }

    /// Claims and sightings are bookkeeping, not configuration: a commit need not wait for fsync (WAL with
    /// synchronous=NORMAL stays consistent; at worst a power cut loses the last few rows), and another writer's
    /// lock is not waited on for long.
    static func prepareForBookkeeping(_ database: SQLiteDatabase) throws(SQLiteError) {
        try database.execute("PRAGMA synchronous = NORMAL")
        database.setBusyTimeout(200)
    }
}

/// The one line a request leaves in Apache's error log: who, what, the outcome, size and time. It holds no key,
/// no password and no setting value.
public struct RequestLog: Sendable {
    /// Who called, once the certificate was read. (Three fields, not an optional `ClientIdentity`: copying that
    /// optional made the Swift runtime instantiate its generic metadata, 50k instructions on every request.)
    public var mac: MACAddress?
    public var serial: String?
    public var model: String?
    public var userAgent: UserAgent?
    public var remoteAddress: String?
    public var path: String?
    public var method: String?
    public var status = 500
    public var reason = "server error"
    public var detail: String?
    public var notes: [String] = []
    public var form: String?
    public var bytes = 0
    /// Microseconds from process start to the answer written, set by the caller.
    public var microseconds: Int?

    /// Records who called.
    public mutating func identify(_ identity: ClientIdentity) {
        mac = identity.mac
        serial = identity.serial
        model = identity.model
    }

    public init(environment: StringTable) {
        userAgent = environment["HTTP_USER_AGENT"].map(UserAgent.init)
        remoteAddress = environment["REMOTE_ADDR"]
        path = environment["PATH_INFO"]
        method = environment["REQUEST_METHOD"]
    }

    /// `key=value` pairs separated by spaces; a value with spaces, quotes or `=` is quoted, control characters
    /// dropped, each value cut at 200 bytes. Built on bytes: this runs on every request.
    public var line: String { String(decoding: lineBytes.dropLast(), as: UTF8.self) }

    /// `line` and its newline, as the CGI writes it to stderr.
    public var lineBytes: [UInt8] {
        var out: [UInt8] = Array("profile-cgi:".utf8)
        out.reserveCapacity(320)
        func field(_ key: StaticString, _ value: String?) {
            guard let value else { return }
            out.append(0x20)
            out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            out.append(UInt8(ascii: "="))
            Self.appendQuoted(value, to: &out)
        }
        field("status", String(status))
        field("reason", reason)
        field("mac", mac?.hex)
        field("serial", serial)
        field("model", model)
        field("fw", userAgent?.firmware)
        field("addr", remoteAddress)
        field("method", method)
        field("path", path)
        field("form", form)
        field("bytes", String(bytes))
        field("us", microseconds.map { String($0) })
        field("detail", detail)
        for note in notes { field("note", note) }
        out.append(0x0a)
        return out
    }

    static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        var clean: [UInt8] = []
        clean.reserveCapacity(min(value.utf8.count, 200))
        var needsQuotes = value.isEmpty
        for byte in value.utf8 {
            if clean.count >= 200 { break }
            if byte < 0x20 || byte == 0x7f { continue }
            if byte == 0x20 || byte == UInt8(ascii: "=") { needsQuotes = true }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                needsQuotes = true
                clean.append(UInt8(ascii: "\\"))
            }
            clean.append(byte)
        }
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
        out += clean
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
    }
}
