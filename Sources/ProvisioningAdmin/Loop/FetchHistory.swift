public import Provisioning

/// One answered request, as the journals recorded it (`fetches`).
public struct FetchRecord: Sendable, Equatable {
    /// Unix microseconds.
    public var at: Int
    public var node: String
    public var mac: MACAddress?
    public var serial: String?
    public var model: String?
    public var certificateSHA256: String?
    public var certificateSerial: String?
    public var firmware: String?
    public var remoteAddress: String?
    public var method: String?
    public var path: String?
    public var form: String?
    public var status: Int
    public var reason: String
    /// SHA-256 of the plaintext profile served, for a 200.
    public var sha256: String?
    public var bytes: Int
    public var microseconds: Int
    /// The phone's own syslog lines about this fetch (`provctl syslog`), in time order.
    public var phone: [PhoneLine] = []
}

/// One line of a phone's syslog, attached to its device (`phone_log`).
public struct PhoneLine: Sendable, Equatable {
    /// Unix microseconds, as the log line says.
    public var at: Int
    public var mac: MACAddress
    /// `request` ("Requesting resync"), `success` ("Successful resync"), `failure` ("Resync failed: ..."),
    /// or `other`.
    public var kind: String
    public var message: String
    public var host: String?

    public init(at: Int, mac: MACAddress, kind: String, message: String, host: String?) {
        self.at = at
        self.mac = mac
        self.kind = kind
        self.message = message
        self.host = host
    }
}

/// What `fetches` selects.
public struct FetchQuery: Sendable {
    public var mac: MACAddress?
    /// Unix microseconds; rows at or after.
    public var since: Int?
    public var status: Int?
    /// The newest `limit` rows.
    public var limit: Int

    public init(mac: MACAddress? = nil, since: Int? = nil, status: Int? = nil, limit: Int = 50) {
        self.mac = mac
        self.since = since
        self.status = status
        self.limit = limit
    }
}

extension DeviceStore {
    static let fetchColumns = """
        at, node, mac, serial, model, cert_sha256, cert_serial, firmware, remote_addr, method, path, form, status,
        reason, sha256, bytes, micros
        """

    static func fetchRecord(_ row: SQLiteStatement) -> FetchRecord {
        FetchRecord(at: row.int(0), node: row.text(1) ?? "", mac: row.text(2).flatMap { MACAddress($0) },
                    serial: row.text(3), model: row.text(4), certificateSHA256: row.text(5),
                    certificateSerial: row.text(6), firmware: row.text(7), remoteAddress: row.text(8),
                    method: row.text(9), path: row.text(10), form: row.text(11), status: row.int(12),
                    reason: row.text(13) ?? "", sha256: row.text(14), bytes: row.int(15), microseconds: row.int(16))
    }

    /// The newest `query.limit` fetches `query` selects, oldest first, each with the phone's syslog lines that
    /// follow it (from 5 s before it, for the phone's "Requesting resync", up to 5 s before the device's next
    /// fetch); lines of the selected devices that no listed fetch takes come back in `unattached`.
    public func fetchHistory(_ query: FetchQuery) throws(SQLiteError) -> (fetches: [FetchRecord], unattached: [PhoneLine]) {
        let statement = try database.prepare("""
            SELECT \(Self.fetchColumns) FROM fetches
            WHERE (?1 IS NULL OR mac = ?1) AND at >= ?2 AND (?3 IS NULL OR status = ?3)
            ORDER BY at DESC LIMIT ?4
            """)
        try statement.bind(1, query.mac?.hex)
        try statement.bind(2, query.since ?? 0)
        if let status = query.status { try statement.bind(3, status) } else { try statement.bind(3, nil as String?) }
        try statement.bind(4, query.limit)
        var fetches: [FetchRecord] = []
        while try statement.step() { fetches.append(Self.fetchRecord(statement)) }
        fetches.reverse()
        // The phone's lines of the devices listed (or of the one asked for), from the window the list covers.
        let from = min(query.since ?? Int.max, (fetches.first?.at ?? Int.max) - Self.phoneSkew)
        let lines = try phoneLines(mac: query.mac, from: from == Int.max ? 0 : from)
        let macs = Set(fetches.compactMap(\.mac))
        var unattached: [PhoneLine] = []
        // Per device, each line goes to the last fetch that began no later than 5 s after it.
        var byMAC: [MACAddress: [Int]] = [:]
        for (index, fetch) in fetches.enumerated() { if let mac = fetch.mac { byMAC[mac, default: []].append(index) } }
        // The next fetch of the same device (any status, listed or not) bounds a fetch's lines: look it up.
        for line in lines {
            guard query.mac != nil || macs.contains(line.mac) else { continue }
            let candidates = byMAC[line.mac] ?? []
            guard let index = candidates.last(where: { fetches[$0].at - Self.phoneSkew <= line.at }) else {
                if query.status == nil { unattached.append(line) }
                continue
            }
            if let next = try nextFetch(of: line.mac, after: fetches[index].at), next - Self.phoneSkew <= line.at {
                // The line belongs to a later fetch that the listing left out (another status, or past the limit).
                if query.status == nil && next > (fetches.last?.at ?? 0) { unattached.append(line) }
                continue
            }
            fetches[index].phone.append(line)
        }
        return (fetches, unattached)
    }

    /// A phone's syslog clock and the server's differ a little, and the phone logs "Requesting resync" just
    /// before it connects: a line up to this many microseconds before a fetch belongs to it.
    public static let phoneSkew = 5_000_000

    /// The time of `mac`'s first fetch after `at`, if any.
    func nextFetch(of mac: MACAddress, after at: Int) throws(SQLiteError) -> Int? {
        let statement = try database.prepare("SELECT min(at) FROM fetches WHERE mac = ?1 AND at > ?2")
        try statement.bind(1, mac.hex)
        try statement.bind(2, at)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int(0)
    }

    /// The phone lines of `mac` (every device when nil) from `from` on, oldest first.
    public func phoneLines(mac: MACAddress?, from: Int) throws(SQLiteError) -> [PhoneLine] {
        let statement = try database.prepare("""
            SELECT at, mac, kind, message, host FROM phone_log WHERE (?1 IS NULL OR mac = ?1) AND at >= ?2 ORDER BY at, id
            """)
        try statement.bind(1, mac?.hex)
        try statement.bind(2, from)
        var lines: [PhoneLine] = []
        while try statement.step() {
            guard let mac = statement.text(1).flatMap({ MACAddress($0) }) else { continue }
            lines.append(PhoneLine(at: statement.int(0), mac: mac, kind: statement.text(2) ?? "other",
                                   message: statement.text(3) ?? "", host: statement.text(4)))
        }
        return lines
    }

    /// Per device, its newest profile fetch answered 200 with a profile (a report POST is not one).
    public func lastServed() throws(SQLiteError) -> [MACAddress: FetchRecord] {
        let statement = try database.prepare("""
            SELECT max(at)\(Self.fetchColumns.dropFirst(2)) FROM fetches
            WHERE status = 200 AND sha256 IS NOT NULL AND mac IS NOT NULL GROUP BY mac
            """)
        var served: [MACAddress: FetchRecord] = [:]
        while try statement.step() {
            let record = Self.fetchRecord(statement)
            if let mac = record.mac { served[mac] = record }
        }
        return served
    }

    /// Per device, its newest answered request of any kind (for the address to push to and when it last called).
    public func lastFetch() throws(SQLiteError) -> [MACAddress: FetchRecord] {
        let statement = try database.prepare("""
            SELECT max(at)\(Self.fetchColumns.dropFirst(2)) FROM fetches
            WHERE mac IS NOT NULL GROUP BY mac
            """)
        var last: [MACAddress: FetchRecord] = [:]
        while try statement.step() {
            let record = Self.fetchRecord(statement)
            if let mac = record.mac { last[mac] = record }
        }
        return last
    }
}
