public import Provisioning

/// `provctl syslog`'s work: a phone log's lines sorted by what they are (a resync message of a known device, one
/// of no known device, another message, a line without an rsyslog timestamp), then the device's lines stored in
/// this node's journal (only those whose host is the device's proven address or a relay).
public struct SyslogImport {
    /// The reader, with the stored devices and the `Log_*_Msg` texts set here.
    public let reader: PhoneSyslog

    /// Reads the devices and the configured `Log_Request_Msg`, `Log_Success_Msg`, `Log_Failure_Msg` values.
    /// `now` (Unix microseconds): a later time in a line is taken as now.
    public init(store: ConfigurationEditor, now: Int) throws {
        let devices = try store.devices(matching: DeviceFilter()).map(\.device)
        let configured = try store.settings().filter { $0.name.hasPrefix("Log_") && $0.name.hasSuffix("_Msg") }
            .map { (name: $0.name, value: $0.value) }
        reader = PhoneSyslog(devices: devices, configuredMessages: configured, now: now)
    }

    /// Sorts the lines of `bytes` (a file rsyslog wrote); `all` keeps every message of a known device, not only
    /// resync messages.
    public func read(_ bytes: [UInt8], all: Bool) -> SyslogReport {
        var report = SyslogReport()
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            report.total += 1
            switch reader.read(line, all: all) {
            case .line(let found): report.lines.append(found)
            case .unknownDevice(let mac): report.unknown[mac ?? "", default: 0] += 1
            case .notResync: report.unrelated += 1
            case .unreadable: report.unreadable += 1
            }
        }
        return report
    }
}

/// What a phone log held, and once stored (`store`), what the journal kept of it.
public struct SyslogReport: Sendable {
    /// The lines of known devices; after `store`, those kept (a proven address or a relay).
    public var lines: [PhoneLine] = []
    /// Every line read.
    public var total = 0
    /// Lines without an rsyslog timestamp.
    public var unreadable = 0
    /// Messages of known devices that are not about resyncs (kept only with `all`).
    public var unrelated = 0
    /// Resync messages of no known device, by the MAC they name ('' when none).
    public var unknown: [String: Int] = [:]
    /// After `store`: lines new to the journal, and lines dropped for an unproven host.
    public var added = 0
    public var unproven = 0

    public init() {}

    /// Keeps the lines whose host is the device's proven address or one of `relays` in `journal` (a future time
    /// is taken as `now`, Unix microseconds).
    public mutating func store(_ store: ConfigurationEditor, journal: SQLiteDatabase, relays: [String], now: Int) throws(SQLiteError) {
        let stored = try LoopJournal.storePhoneLines(lines, store: store, journal: journal, relays: relays, now: now)
        lines = stored.attached
        added = stored.added
        unproven = stored.unproven
    }

    /// The devices the kept lines belong to.
    public var devices: Int { Set(lines.map(\.mac)).count }
    /// Resync messages of no known device.
    public var unknownCount: Int { unknown.values.reduce(0, +) }
    /// The MACs those messages named, sorted.
    public var unknownMACs: [String] { unknown.keys.filter { !$0.isEmpty }.sorted() }
}
