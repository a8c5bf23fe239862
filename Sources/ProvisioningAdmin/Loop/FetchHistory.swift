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
    /// The caller proved the identity the row names (certificate or account); false for a caller that proved
    /// nothing (bootstrap, a factory name): such a row is a claim and moves nothing the admin sees.
    public var trusted: Bool = true
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

extension JournalReader {
    static let fetchColumns = """
        at, node, mac, serial, model, cert_sha256, cert_serial, firmware, remote_addr, method, path, form, status,
        reason, sha256, bytes, micros, trusted
        """

    static func fetchRecord(_ row: SQLiteStatement) -> FetchRecord {
        FetchRecord(at: row.int(0), node: row.text(1) ?? "", mac: row.text(2).flatMap { MACAddress($0) },
                    serial: row.text(3), model: row.text(4), certificateSHA256: row.text(5),
                    certificateSerial: row.text(6), firmware: row.text(7), remoteAddress: row.text(8),
                    method: row.text(9), path: row.text(10), form: row.text(11), status: row.int(12),
                    reason: row.text(13) ?? "", sha256: row.text(14), bytes: row.int(15), microseconds: row.int(16),
                    trusted: row.int(17) != 0)
    }

    /// The newest `query.limit` fetches `query` selects, oldest first, each with the phone's syslog lines about
    /// it; lines of the selected devices that belong to no fetch at all come back in `unattached`.
    ///
    /// A line belongs to one fetch of its device (any status, listed or not): "Requesting resync" to the first
    /// fetch that follows it within a minute, every other line to the last fetch before it. The phone's clock
    /// and the server's may differ by `phoneSkew`.
    public func fetchHistory(_ query: FetchQuery) throws(SQLiteError) -> (fetches: [FetchRecord], unattached: [PhoneLine]) {
        // Only the conditions asked for: `(?1 IS NULL OR mac = ?1)` would keep SQLite from the MAC index.
        var conditions = ["at >= ?2"]
        if query.mac != nil { conditions.append("mac = ?1") }
        if query.status != nil { conditions.append("status = ?3") }
        let statement = try database.prepare("""
            SELECT \(Self.fetchColumns) FROM fetches WHERE \(conditions.joined(separator: " AND ")) ORDER BY at DESC LIMIT ?4
            """)
        if let mac = query.mac { try statement.bind(1, mac.hex) }
        try statement.bind(2, query.since ?? 0)
        if let status = query.status { try statement.bind(3, status) }
        try statement.bind(4, query.limit)
        var fetches: [FetchRecord] = []
        while try statement.step() { fetches.append(Self.fetchRecord(statement)) }
        fetches.reverse()
        // The lines of the devices listed (or of the one asked for) from the start of the listing.
        var from = query.since ?? Int.max
        if let first = fetches.first { from = min(from, first.at - 60_000_000) }
        if from == Int.max { from = 0 }
        let lines = try phoneLines(mac: query.mac, from: from)
        var listed: [MACAddress: [Int: Int]] = [:]  // mac -> at -> index in fetches
        for (index, fetch) in fetches.enumerated() { if let mac = fetch.mac { listed[mac, default: [:]][fetch.at] = index } }
        var times: [MACAddress: [Int]] = [:]
        var unattached: [PhoneLine] = []
        for line in lines {
            guard query.mac != nil || listed[line.mac] != nil else { continue }
            if times[line.mac] == nil { times[line.mac] = try fetchTimes(of: line.mac, from: from - 60_000_000) }
            let all = times[line.mac]!
            var owner: Int? = nil
            if line.kind == "request" {
                owner = all.first { $0 >= line.at - Self.phoneSkew && $0 <= line.at + 60_000_000 }
            }
            if owner == nil { owner = all.last { $0 <= line.at + Self.phoneSkew } }
            guard let owner else {
                if query.status == nil { unattached.append(line) }
                continue
            }
            if let index = listed[line.mac]?[owner] { fetches[index].phone.append(line) }
        }
        return (fetches, unattached)
    }

    /// How far a phone's syslog clock and the server's may disagree: one second.
    public static let phoneSkew = 1_000_000

    /// The times of `mac`'s fetches from `from` on, oldest first.
    func fetchTimes(of mac: MACAddress, from: Int) throws(SQLiteError) -> [Int] {
        let statement = try database.prepare("SELECT at FROM fetches WHERE mac = ?1 AND at >= ?2 ORDER BY at")
        try statement.bind(1, mac.hex)
        try statement.bind(2, from)
        var times: [Int] = []
        while try statement.step() { times.append(statement.int(0)) }
        return times
    }

    /// The phone lines of `mac` (every device when nil) from `from` on, oldest first.
    public func phoneLines(mac: MACAddress?, from: Int) throws(SQLiteError) -> [PhoneLine] {
        let statement = try database.prepare("""
            SELECT at, mac, kind, message, host FROM phone_log WHERE \(mac == nil ? "" : "mac = ?1 AND ")at >= ?2 ORDER BY at, id
            """)
        if let mac { try statement.bind(1, mac.hex) }
        try statement.bind(2, from)
        var lines: [PhoneLine] = []
        while try statement.step() {
            guard let mac = statement.text(1).flatMap({ MACAddress($0) }) else { continue }
            lines.append(PhoneLine(at: statement.int(0), mac: mac, kind: statement.text(2) ?? "other",
                                   message: statement.text(3) ?? "", host: statement.text(4)))
        }
        return lines
    }

    /// Per device of `macs`, its newest profile fetch answered 200 with a profile (a report POST is not one). One
    /// indexed lookup per device (`fetches_by_mac`, newest first): a grouping over the whole history would visit
    /// every row (2.5 s for a million).
    public func lastServed(_ macs: [MACAddress]) throws(SQLiteError) -> [MACAddress: FetchRecord] {
        try newestFetch(macs, where: "status = 200 AND sha256 IS NOT NULL AND trusted")
    }

    /// Per device of `macs`, its phone's newest syslog line that says how a resync ended (`success` or
    /// `failure`, `provctl syslog`), if any: `pending` reads "failed on phone" from it.
    public func lastPhoneOutcome(_ macs: [MACAddress]) throws(SQLiteError) -> [MACAddress: PhoneLine] {
        let statement = try database.prepare("""
            SELECT at, mac, kind, message, host FROM phone_log WHERE mac = ?1 AND kind IN ('success', 'failure')
            ORDER BY at DESC LIMIT 1
            """)
        var lines: [MACAddress: PhoneLine] = [:]
        for mac in macs {
            statement.reset()
            try statement.bind(1, mac.hex)
            if try statement.step() {
                lines[mac] = PhoneLine(at: statement.int(0), mac: mac, kind: statement.text(2) ?? "", message: statement.text(3) ?? "",
                                       host: statement.text(4))
            }
        }
        return lines
    }

    /// Per device of `macs`, its newest request from a caller whose certificate named it, whatever the answer: a
    /// phone refused for a device check (`403 model mismatch`) proved who it is, so `pending` may say the server
    /// refused it. Callers that proved nothing never count. A row's `model` comes only from a certificate Apache
    /// verified (`SSL_CLIENT_VERIFY=SUCCESS`, `ClientIdentity`), as its `cert_sha256` does when the PEM is exported.
    public func lastCertifiedRequest(_ macs: [MACAddress]) throws(SQLiteError) -> [MACAddress: FetchRecord] {
        try newestFetch(macs, where: "(trusted OR cert_sha256 IS NOT NULL OR model IS NOT NULL)")
    }

    /// True when the device's MAC was named by a caller that proved nothing (a bootstrap or factory-name fetch):
    /// such an address is never pushed to (`resync` says `refused`, where a device never heard of is `skipped`).
    public func hasUnprovenFetch(_ mac: MACAddress) throws(SQLiteError) -> Bool {
        let statement = try database.prepare("SELECT 1 FROM fetches WHERE mac = ?1 AND NOT trusted LIMIT 1")
        try statement.bind(1, mac.hex)
        return try statement.step()
    }

    /// Per device of `macs`, its newest answered request of any kind from a caller that proved it is the device
    /// (certificate or account): the address to push to, and when it last called. A bootstrap caller's rows are
    /// claims and never count here.
    public func lastFetch(_ macs: [MACAddress]) throws(SQLiteError) -> [MACAddress: FetchRecord] {
        try newestFetch(macs, where: "trusted")
    }

    /// Per device of `macs`, its newest fetch row meeting `condition` (a fixed SQL expression, never a caller's
    /// text): one indexed lookup per device (`fetches_by_mac`, newest first).
    private func newestFetch(_ macs: [MACAddress], where condition: String) throws(SQLiteError) -> [MACAddress: FetchRecord] {
        let statement = try database.prepare("SELECT \(Self.fetchColumns) FROM fetches WHERE mac = ?1 AND \(condition) ORDER BY at DESC LIMIT 1")
        var newest: [MACAddress: FetchRecord] = [:]
        for mac in macs {
            statement.reset()
            try statement.bind(1, mac.hex)
            if try statement.step() { newest[mac] = Self.fetchRecord(statement) }
        }
        return newest
    }
}
