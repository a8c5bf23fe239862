/// A phone's report: `POST …/report/<name>` (the phone's `Report_Rule`, for example
/// `[--key $K] https://prov.example.com/cgi-bin/profile/report/$MA.xml`). Any other POST stays a 405.
public struct ReportRequest: Sendable, Equatable {
    /// The file name posted to (the last segment), at most 128 bytes.
    public var fileName: String
    /// The MAC the name spells, if any: it must be the caller's own, as for a profile.
    public var namedMAC: MACAddress?

    /// The most a report body may be, as received (gzipped and encrypted or not). A full MPP configuration is
    /// about 100-400 KB of XML.
    public static let maximumBytes = Request.bodyLimit
    /// The most its XML may be once decompressed.
    public static let maximumPlaintextBytes = 8 << 20

    /// `PATH_INFO` of the form `…/report/<name>`: the segment before the last is `report`; nil otherwise.
    public init?(path: String?) {
        guard let path else { return nil }
        var segments: [Substring] = []
        var rest = Substring(path)
        while let slash = rest.firstIndex(of: "/") {
            if slash != rest.startIndex { segments.append(rest[..<slash]) }
            rest = rest[rest.index(after: slash)...]
        }
        if !rest.isEmpty { segments.append(rest) }
        guard segments.count >= 2, segments[segments.count - 2] == "report" else { return nil }
        let name = segments[segments.count - 1]
        guard name.utf8.count <= 128 else { return nil }
        fileName = String(name)
        var stem = name
        // `$MA.xml`, `$MA.xml.gz`, `$MA.cfg`, `$MA.xml.enc`: the MAC is before the first dot.
        if let dot = stem.firstIndex(of: "."), dot != stem.startIndex { stem = stem[..<dot] }
        namedMAC = MACAddress.named(inFileName: String(stem))
    }
}
