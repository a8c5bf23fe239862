
/// The configuration database: devices, settings and variables of each scope, and the audit log.
///
/// Serving opens it strictly read-only (`init(serving:)`), always; only `provctl` writes it, through
/// ProvisioningAdmin's `ConfigurationEditor` (schema, migrations, writes, audit, undo), which owns the connection
/// it opens and which profile-cgi does not link. What serving records goes to the journal,
/// a file of its own (`Journal`). The file is an ordinary SQLite database an admin can open with `sqlite3`.
public final class ConfigurationStore {
    /// The connection. Opened by `init(serving:)` it is read-only; a `ConfigurationEditor` opens it read-write and
    /// runs its statements and transactions on it.
    public let database: SQLiteDatabase
    /// The schema version the file had when it was opened (0 for a new file), before any migration ran.
    public package(set) var versionAtOpen = 0
    /// The serving path's statements, prepared on first use and kept for the connection's life (a FastCGI
    /// responder answers many requests on one connection).
    var deviceStatement: SQLiteStatement?
    /// The per-scope layer statements (`appendScope`). Four properties, not an array: an array of optionals is a
    /// generic type the runtime instantiates on first use (57k instructions of a CGI request).
    var defaultLayerStatement: SQLiteStatement?
    var modelLayerStatement: SQLiteStatement?
    var groupLayerStatement: SQLiteStatement?
    var deviceLayerStatement: SQLiteStatement?
    /// Where the CGI and `provctl` look when `PROVISIONER_DB` is not set.
    public static let defaultPath = "/var/lib/provisioner/provisioner.db"

    /// The schema version this build reads and writes (the admin library's migrations; a test checks they agree).
    /// 2: `seen` and `claims` moved to the journal. 3: `changes`, the undo log. 4: each audit entry names its
    /// range of `changes` rows. 5: RFC 8188 `aes128gcm` devices (`ece_key_id`, `ece_record_size`). 6: partitioned
    /// profiles (`settings.part`). 7: device accounts and bootstrap policy (`account_user`, `account_realm`,
    /// `account_ha1`, `bootstrap`), `server_keys`. 8: the undo log's triggers left the file: provctl makes them
    /// as TEMP triggers on its own connection, so a serving connection never parses them (they were 0.78M of a
    /// CGI request's 1.57M instructions, `bench/run`). 9: `settings.intent`
    /// (empty or keep) and an index on serials. 10: change sets (`audit.change_set`): one ID per command. 11: `expected_profiles`, each
    /// device's expected profile SHA-256 (provctl's, for `pending`).
    public static let schemaVersion = 11

    /// The versions the serving core reads: their tables are the same (8 only took the undo triggers out of the
    /// file), so phones are served while an upgraded node waits for `provctl init`.
    /// 9 added `settings.intent` and an index: a file at 7 or 8 is read with the query of its time, its empty
    /// values served `<X/>` as they were. 10 added only the audit's change sets, which serving never reads; 11 only
    /// `expected_profiles`, which serving never reads either.
    public static let servedVersions = 7...11

    /// Wraps an open connection and reads its schema version.
    package init(database: SQLiteDatabase) throws(SQLiteError) {
        self.database = database
        versionAtOpen = try database.userVersion()
    }

    /// Opens the file for serving: strictly read-only, never creating it or any file beside it that SQLite can do
    /// without, never migrating. A missing file or a schema of another version is an error.
    ///
    /// A read-only WAL reader needs the `-shm` file; when it is missing (provctl removes it on close) and cannot
    /// be created (a full or read-only file system), SQLite fails with an I/O error. Then, and only when no
    /// connection has the file open (no `-shm`) and the log is empty (no `-wal`, or an empty one), the file
    /// alone holds every committed change and is read as immutable; `readIsStable` tells afterwards whether
    /// anything changed it meanwhile.
    public init(serving path: String, busyTimeout: Int32 = 100) throws(SQLiteError) {
        var opened: SQLiteDatabase
        var immutable: FileStamp? = nil
        do {
            opened = try SQLiteDatabase(path: path, mode: .readOnly, busyTimeout: busyTimeout)
            versionAtOpen = try opened.userVersion()
        } catch {
            // SQLite keeps -wal and -shm beside the file a symbolic link points to: judge (and open) that file.
            let path = FilePath.resolved(path)
            guard !error.isBusy, let stamp = FileStamp.quiescent(path) else { throw error }
            immutable = stamp
            opened = try SQLiteDatabase(uri: "file:" + Self.uriEscaped(path) + "?immutable=1", busyTimeout: busyTimeout)
            versionAtOpen = try opened.userVersion()
        }
        database = opened
        immutableStamp = immutable
        try Self.checkVersion(versionAtOpen, accepting: Self.servedVersions)
    }

    /// Set when the file was opened as immutable: its size and time then, to compare after the read.
    public private(set) var immutableStamp: FileStamp?

    /// True unless the file was read as immutable and has changed, or gained a `-shm`, since it was opened.
    public var readIsStable: Bool {
        guard let immutableStamp else { return true }
        return FileStamp.quiescent(database.path) == immutableStamp
    }

    /// `path` with the characters a URI file name must escape percent-encoded.
    static func uriEscaped(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "%"), UInt8(ascii: "?"), UInt8(ascii: "#"):
                out += "%" + Hex.text(UInt64(byte), width: 2, uppercase: true)
            default:
                out += String(decoding: [byte], as: UTF8.self)
            }
        }
        return out
    }

    package static func checkVersion(_ version: Int, accepting versions: ClosedRange<Int> = schemaVersion...schemaVersion) throws(SQLiteError) {
        guard !versions.contains(version) else { return }
        throw SQLiteError(code: 0, message: version < versions.lowerBound
            ? "schema version \(version), this build needs \(schemaVersion): run `provctl init`"
            : "schema version \(version) is newer than this build (\(schemaVersion))", sql: nil)
    }

    // MARK: Reading (the CGI's path)

    /// The columns of a device row, in the order `device(from:)` reads them: the device columns, once. (The
    /// cases are the SQL names.)
    package enum DeviceColumn: Int32, CaseIterable {
        case mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, ece_key_id,
             ece_record_size, account_user, account_realm, account_ha1, bootstrap
    }

    /// `DeviceColumn`'s names, comma-separated (the admin's queries; the CGI's spell them out, see `deviceQuery`).
    package static let deviceColumns = DeviceColumn.allCases.map { "\($0)" }.joined(separator: ", ")

    /// The device with this MAC, or `nil`.
    public func device(mac: MACAddress) throws(SQLiteError) -> Device? {
        let statement: SQLiteStatement
        if let deviceStatement { statement = deviceStatement } else { statement = try database.prepare(Self.deviceQuery) }
        deviceStatement = statement
        defer { statement.reset() }
        try statement.bind(1, mac.hex)
        return try statement.step() ? Self.device(from: statement) : nil
    }

    /// `SELECT deviceColumns FROM devices WHERE mac = ?1`, spelled out: the CGI's queries are literals, because a
    /// string built at run time grows through reallocations, and the first string storage freed makes the Swift
    /// runtime instantiate metadata (about 35k instructions). A test checks the spelling against the parts.
    static let deviceQuery = "SELECT mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, ece_key_id, ece_record_size, account_user, account_realm, account_ha1, bootstrap FROM devices WHERE mac = ?1"

    /// The device whose account has this user name (the same columns), for a caller that authenticates instead
    /// of presenting a certificate.
    static let accountQuery = "SELECT mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, ece_key_id, ece_record_size, account_user, account_realm, account_ha1, bootstrap FROM devices WHERE account_user = ?1"

    /// The device whose serial is this one (the same columns), for a caller that proved nothing and whose
    /// User-Agent carries a serial but no MAC (`Cisco/SPA525G-7.4.7 (CBT141900G7)`). Two rows: a serial two devices
    /// share names neither.
    static let serialQuery = "SELECT mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, ece_key_id, ece_record_size, account_user, account_realm, account_ha1, bootstrap FROM devices WHERE serial = ?1 LIMIT 2"

    /// The one device with this serial, or `nil` (none, or more than one).
    public func device(serial: String) throws(SQLiteError) -> Device? {
        let statement = try database.prepare(Self.serialQuery)
        try statement.bind(1, serial)
        guard try statement.step() else { return nil }
        let device = try Self.device(from: statement)
        return try statement.step() ? nil : device
    }

    /// The device with the account `user`, or `nil`.
    public func device(accountUser user: String) throws(SQLiteError) -> Device? {
        let statement = try database.prepare(Self.accountQuery)
        try statement.bind(1, user)
        return try statement.step() ? Self.device(from: statement) : nil
    }

    /// The key Digest nonces are signed with (`server_keys`, made by the migration), or nil.
    public func nonceKey() throws(SQLiteError) -> [UInt8]? {
        let statement = try database.prepare("SELECT value FROM server_keys WHERE name = 'nonce'")
        guard try statement.step(), let text = statement.text(0) else { return nil }
        return Array(text.utf8)
    }

    /// A device from a row of `deviceColumns`.
    package static func device(from row: SQLiteStatement) throws(SQLiteError) -> Device {
        typealias C = DeviceColumn
        guard let mac = row.text(C.mac.rawValue).flatMap({ MACAddress($0) }) else {
            throw SQLiteError(code: 0, message: "a device row has a malformed MAC", sql: nil)
        }
        var encryption = Encryption.none
        if let key = row.text(C.encryption_key.rawValue) {
            switch row.text(C.encryption.rawValue) ?? "" {
            case "aes-256-cbc":
                let digest = KeyDerivationDigest(rawValue: row.text(C.kdf_digest.rawValue) ?? "") ?? .sha256
                encryption = .aes256cbc(key: key, digest: digest)
            case "aes128gcm":
                encryption = .aes128gcm(ContentEncryptionKey(ikm: key, keyID: row.text(C.ece_key_id.rawValue) ?? "",
                                                             recordSize: row.int(C.ece_record_size.rawValue)))
            default:
                break
            }
        }
        var account: DeviceAccount? = nil
        if let user = row.text(C.account_user.rawValue), let ha1 = row.text(C.account_ha1.rawValue) {
            let realm = row.text(C.account_realm.rawValue) ?? DeviceAccount.defaultRealm
            account = DeviceAccount(user: user, realm: realm, ha1: ha1)
        }
        return Device(mac: mac, serial: row.text(C.serial.rawValue), model: row.text(C.model.rawValue),
                      group: row.text(C.group_name.rawValue), enabled: row.int(C.enabled.rawValue) != 0,
                      gzip: row.int(C.gzip.rawValue) != 0, encryption: encryption, account: account,
                      bootstrap: BootstrapPolicy(rawValue: row.text(C.bootstrap.rawValue) ?? "") ?? .none)
    }

    /// The same rows as `layers`, read straight into the merge's byte form: the CGI's path.
    /// `partition` is '' for the main profile.
    ///
    /// One statement per scope (default, model, group, device), each an equality on the primary key's first
    /// columns, instead of one statement OR-ing the four: SQLite answered the OR with a multi-index OR (a RowSet
    /// and four index walks per table, and a CASE per row), which cost more than preparing four short statements
    /// (bench/run, `.xml`, 1,000 devices: 1.74M -> see docs/performance.md). A scope the device has no target for
    /// (no model, no group) is not asked.
    public func layerRows(model: String?, group: String?, mac: MACAddress, partition: String = "") throws(SQLiteError) -> LayerRows {
        var rows = LayerRows(model: model, group: group, mac: mac)
        try appendScope(.all, target: "", partition: partition, to: &rows)
        if let model { try appendScope(.model, target: model, partition: partition, to: &rows) }
        if let group { try appendScope(.group, target: group, partition: partition, to: &rows) }
        try appendScope(.device, target: mac.hex, partition: partition, to: &rows)
        return rows
    }

    /// Appends the settings (of `partition`) and variables stored at one scope's `target`.
    func appendScope(_ rank: Scope.Rank, target: String, partition: String, to rows: inout LayerRows) throws(SQLiteError) {
        let prepared: SQLiteStatement?
        switch rank {
        case .all: prepared = defaultLayerStatement
        case .model: prepared = modelLayerStatement
        case .group: prepared = groupLayerStatement
        case .device: prepared = deviceLayerStatement
        }
        let statement: SQLiteStatement
        if let prepared {
            statement = prepared
        } else {
            statement = try database.prepare(Self.scopeQuery(rank, intent: versionAtOpen >= 9))
            switch rank {
            case .all: defaultLayerStatement = statement
            case .model: modelLayerStatement = statement
            case .group: groupLayerStatement = statement
            case .device: deviceLayerStatement = statement
            }
        }
        defer { statement.reset() }
        try statement.bind(1, target)
        try statement.bind(2, partition)
        while try statement.step() {
            rows.appendRow(of: statement, kind: statement.int(0) == 0 ? .setting : .variable, rank: rank)
        }
    }

    /// The settings and variables of one scope (?1 its target, ?2 the partition), in the columns of
    /// `LayerRows.appendRow`. `intent`: the file has `settings.intent` (schema 9); before it, empty values have
    /// no intent.
    static func scopeQuery(_ rank: Scope.Rank, intent: Bool) -> String {
        let scope = rank.storedName
        return """
            SELECT 0, name, value, ua, \(intent ? "intent" : "NULL") FROM settings WHERE scope = '\(scope)' AND target = ?1 AND part = ?2
            UNION ALL
            SELECT 1, name, value, NULL, NULL FROM variables WHERE scope = '\(scope)' AND target = ?1
            """
    }

}
