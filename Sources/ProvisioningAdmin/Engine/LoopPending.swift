public import Provisioning
#if canImport(Glibc)
import Glibc
#endif

/// One device the loop is not closed for.
public struct PendingDevice: Sendable {
    public var device: Device
    /// `changed` (its profile now differs from the last one served), `never seen`, `unknown` (it fetched, but the
    /// fetch history no longer says what: pruned), `render error`, `bootstrap` (it was served its current
    /// bootstrap profile, without secrets: it has proved no identity yet), `refused by server` (its newest
    /// request was refused), `failed on phone` (after its last fetch the phone logged a failed resync, or
    /// reported settings that differ), `report differs`, `stale`.
    public var states: [String]
    /// The phone's own words for `failed on phone` (its syslog line, or what its report says), and when.
    public var phoneSaid: String?
    public var phoneSaidAt: Int?
    /// The server's reason for `refused` (`model mismatch`, ...).
    public var refusal: String?
    public var currentSHA256: String?
    public var served: FetchRecord?
    /// Unix seconds of its last contact (any fetch, or the `seen` row).
    public var lastContact: Int?
    public var staleAfter: Int?
    public var drift: Int?
    public var problem: String?
}

/// Compares every enabled device's current rendering with what it was last served (`provctl pending`).
///
/// It streams: devices are read in MAC order, `batch` at a time (each batch's fetch history, phone outcomes and
/// reports looked up by MAC), and every pending device is handed to the caller as it is found, so memory does not
/// grow with the fleet. A device's current SHA-256 is read from `expected_profiles` (`ExpectedProfiles`) when a
/// row of this build's format is there and the device is presented as stored; else it is rendered.
public struct PendingScan {
    public var store: ConfigurationEditor
    public var group: String?
    /// Also list devices not seen for longer than `staleAfter` (nil: 3× their resync interval).
    public var stale: Bool
    public var staleAfter: Int?
    /// Devices read per round.
    public var batch = 500
    /// Only devices of this model.
    public var model: String?
    /// Only devices whose MAC (12 lowercase hex digits) comes after this one: a page's start.
    public var after = ""
    /// Stop once this many pending devices were found (nil: walk the whole fleet).
    public var limit: Int?
    /// Renders every device instead of reading its expected hash (the path before schema 11; tests compare the
    /// two). Also on when the environment has `PROVISIONER_PENDING_RENDER=1`.
    public var rendersEveryDevice = false

    public init(store: ConfigurationEditor, group: String? = nil, stale: Bool = false, staleAfter: Int? = nil) {
        self.store = store
        self.group = group
        self.stale = stale
        self.staleAfter = staleAfter
    }

    /// Calls `each` with every pending device, in MAC order; returns how many there were.
    @discardableResult
    public func run(now: Int = Clock.unixSeconds(), _ each: (PendingDevice) throws -> Void) throws -> Int {
        let loop = try DeviceLoop(store: store)
        // The reports in MAC order, read alongside the devices (a merge): the view groups every journal's rows, so
        // a lookup per device would read them all each time, and reading them all up front keeps every body.
        var reports = try ReportCursor(store)
        var count = 0
        let journals = !store.journal.attached.isEmpty
        let readsHashes = try !rendersEveryDevice && !Self.renderingForced && ExpectedProfiles.exists(store)
        try EnabledDevices(store: store, group: group, batch: batch, model: model, after: after).forEachBatch { rows in
            if let limit, count >= limit { return false }
            let macs = rows.map(\.device.mac)
            // Without a journal there is nothing to look up (four empty views per device cost more than the rest).
            let served = journals ? try store.journal.lastServed(macs) : [:]
            let lastFetch = journals ? try store.journal.lastFetch(macs) : [:]
            let lastCertified = journals ? try store.journal.lastCertifiedRequest(macs) : [:]
            let phoneOutcomes = journals ? try store.journal.lastPhoneOutcome(macs) : [:]
            let known = readsHashes ? try ExpectedProfiles.hashes(store, from: macs[0], through: macs[macs.count - 1]) : [:]
            for (device, lastSeen) in rows {
                let report = try reports.next(for: device.mac)
                let entry = examine(device, lastSeen: lastSeen, served: served[device.mac], lastFetch: lastFetch[device.mac],
                                    lastCertified: lastCertified[device.mac], phoneSaid: phoneOutcomes[device.mac],
                                    report: report, loop: loop, now: now, known: known[ExpectedProfiles.key(device.mac)])
                if !entry.states.isEmpty {
                    count += 1
                    try each(entry)
                    if let limit, count >= limit { return false }
                }
            }
            return true
        }
        return count
    }

    /// Whether `PROVISIONER_PENDING_RENDER=1` asks for the rendering path.
    static var renderingForced: Bool {
        guard let value = getenv("PROVISIONER_PENDING_RENDER") else { return false }
        return String(cString: value) == "1"
    }

    /// One device's states. `known`: its stored expected SHA-256 (of the device as stored), if any.
    func examine(_ device: Device, lastSeen: Int?, served last: FetchRecord?, lastFetch: FetchRecord?,
                 lastCertified: FetchRecord?, phoneSaid: PhoneLine?, report: StoredReport?, loop: DeviceLoop,
                 now: Int, known: String? = nil) -> PendingDevice {
        let presented = DeviceLoop.presented(device, model: last?.model, serial: last?.serial)
        var entry = PendingDevice(device: device, states: [], served: last)
        let contacts = [lastSeen, lastFetch.map { $0.at / 1_000_000 }].compactMap { $0 }
        entry.lastContact = contacts.max()
        if let known, presented.model == device.model, presented.serial == device.serial {
            entry.currentSHA256 = known
        } else {
            do {
                entry.currentSHA256 = try loop.currentSHA256(presented)
            } catch {
                entry.states.append("render error")
                entry.problem = renderProblem(error)
            }
        }
        if let last {
            // A device served its bootstrap profile (no secrets, it proved nothing) has the current one when
            // that matches: "bootstrap", which a push cannot change, not "changed" forever.
            if let current = entry.currentSHA256, last.sha256 != current {
                if last.sha256 != nil, (try? loop.bootstrapSHA256(presented)) == last.sha256 {
                    entry.states.append("bootstrap")
                } else {
                    entry.states.append("changed")
                }
            }
        } else if lastSeen != nil {
            entry.states.append("unknown")
        } else {
            entry.states.append("never seen")
        }
        // The server refused the phone's newest request (403 model mismatch, ...): the phone cannot get its
        // profile until the admin acts. (A profile request: a refused report POST is no reason the phone lacks
        // its profile.)
        if let fetch = lastCertified, fetch.status >= 400, fetch.at > (last?.at ?? 0),
           fetch.method == nil || fetch.method == "GET" || fetch.method == "HEAD", !(fetch.path ?? "").contains("/report/") {
            // It called: not "never seen", but refused (a model typo gets 403 model mismatch).
            entry.states.removeAll { $0 == "never seen" }
            entry.states.append("refused by server")
            entry.refusal = "\(fetch.status) \(fetch.reason)"
        }
        // What the phone said after its last profile: a failed resync in its syslog ("Resync failed: decrypt
        // error") that no success followed.
        let servedAt = last?.at ?? 0
        if let said = phoneSaid, said.kind == "failure", said.at >= servedAt - JournalReader.phoneSkew {
            entry.states.append("failed on phone")
            entry.phoneSaid = said.message
            entry.phoneSaidAt = said.at
        }
        if let report {
            do {
                let drift = try loop.drift(of: presented, report: report).count
                entry.drift = drift
                if drift > 0 {
                    // A report sent after the last fetch that still differs: the phone did not take it.
                    if report.at > servedAt, last != nil, !entry.states.contains("failed on phone") {
                        entry.states.append("failed on phone")
                        entry.phoneSaid = "its report of \(utcTimestamp(report.at / 1_000_000)) differs in \(drift) parameter(s) (provctl drift \(device.mac.hex))"
                        entry.phoneSaidAt = report.at
                    }
                    entry.states.append("report differs")
                }
            } catch {
                entry.problem = entry.problem ?? "\(error)"
            }
        }
        if stale, let contact = entry.lastContact {
            var limit = staleAfter
            if limit == nil, let parameters = try? loop.parameters(presented), let interval = DeviceLoop.resyncInterval(parameters) {
                limit = 3 * interval
            }
            entry.staleAfter = limit
            if let limit, now - contact > limit { entry.states.append("stale") }
        }
        return entry
    }
}

/// The stored reports in MAC order, one at a time.
struct ReportCursor {
    let statement: SQLiteStatement
    var ahead: StoredReport?
    var done = false

    init(_ store: ConfigurationEditor) throws(SQLiteError) {
        statement = try store.database.prepare("""
            SELECT mac, node, at, name, encoding, received_bytes, sha256, body FROM reports ORDER BY mac
            """)
    }

    /// The report of `mac`, if any; `mac`s must come in ascending order.
    mutating func next(for mac: MACAddress) throws(SQLiteError) -> StoredReport? {
        while true {
            if ahead == nil {
                if done { return nil }
                guard try statement.step() else { done = true; return nil }
                guard let found = statement.text(0).flatMap({ MACAddress($0) }) else { continue }
                ahead = StoredReport(mac: found, node: statement.text(1) ?? "", at: statement.int(2), name: statement.text(3),
                                     encoding: statement.text(4) ?? "", receivedBytes: statement.int(5),
                                     sha256: statement.text(6) ?? "", body: statement.blob(7))
            }
            guard let report = ahead else { continue }
            if report.mac.hex < mac.hex { ahead = nil; continue }
            if report.mac.hex > mac.hex { return nil }
            ahead = nil
            return report
        }
    }
}

/// The enabled devices (of a group), in MAC order, `batch` at a time: what the fleet-wide loop queries walk
/// without holding the fleet.
struct EnabledDevices {
    var store: ConfigurationEditor
    var group: String?
    var batch: Int
    var model: String? = nil
    /// Only MACs after this one (12 lowercase hex digits; empty: from the first).
    var after = ""

    /// Calls `body` with each batch: the devices, and of their `seen` row only its last contact (nil: none).
    /// `body` returns false to stop.
    func forEachBatch(_ body: ([(device: Device, lastSeen: Int?)]) throws -> Bool) throws {
        let columns = ConfigurationStore.deviceColumns.split(separator: ",").map { "d." + String($0).trimmingSpaces }.joined(separator: ", ")
        let devices = try store.database.prepare("""
            SELECT \(columns), CASE WHEN s.mac IS NOT NULL THEN ifnull(s.last_seen, 0) END
            FROM devices d LEFT JOIN seen s ON s.mac = d.mac
            WHERE d.enabled = 1 AND (?1 IS NULL OR d.group_name = ?1) AND (?4 IS NULL OR d.model = ?4) AND d.mac > ?2
            ORDER BY d.mac LIMIT ?3
            """)
        let s = Int32(ConfigurationStore.deviceColumns.split(separator: ",").count)
        var after = self.after
        while true {
            var rows: [(device: Device, lastSeen: Int?)] = []
            devices.reset()
            try devices.bind(1, group)
            try devices.bind(2, after)
            try devices.bind(3, batch)
            try devices.bind(4, model)
            while try devices.step() {
                rows.append((try ConfigurationStore.device(from: devices), devices.isNull(s) ? nil : devices.int(s)))
            }
            guard let last = rows.last else { return }
            after = last.device.mac.hex
            guard try body(rows) else { return }
            if rows.count < batch { return }
        }
    }
}
