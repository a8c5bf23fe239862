public import Provisioning

/// One line of `provctl fetches`: a fetch (with the phone's syslog lines that follow it), or a syslog line that
/// follows no fetch in the window.
public enum FetchTimelineItem: Sendable {
    case fetch(FetchRecord)
    case phoneLine(PhoneLine)

    /// Unix microseconds.
    public var at: Int {
        switch self {
        case .fetch(let fetch): fetch.at
        case .phoneLine(let line): line.at
        }
    }
}

extension ConfigurationEditor {
    /// The fetch history of `query` and the syslog lines attached to none of its fetches, oldest first.
    public func fetchTimeline(_ query: FetchQuery) throws(SQLiteError) -> [FetchTimelineItem] {
        let (fetches, unattached) = try journal.fetchHistory(query)
        let items = fetches.map(FetchTimelineItem.fetch) + unattached.map(FetchTimelineItem.phoneLine)
        return items.sorted { $0.at < $1.at }
    }
}
