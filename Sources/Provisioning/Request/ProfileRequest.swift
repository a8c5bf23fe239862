/// The form a profile is sent in, picked by the requested file's ending.
public enum ProfileForm: String, Sendable, CaseIterable {
    /// `.xml` or no ending: the flat-profile as XML.
    case xml
    /// `.gz`: the XML in a gzip stream.
    case gz
    /// `.cfg`: `openssl enc` AES-256-CBC, gzipped first when the device is set to gzip.
    case cfg
}

/// What the phone asked for: method, file name, form, and the MAC the name spells, if any.
public struct ProfileRequest: Sendable, Equatable {
    /// `GET` or `HEAD`.
    public var method: String
    /// The last segment of `PATH_INFO`, as requested.
    public var fileName: String
    /// The form the ending asks for.
    public var form: ProfileForm
    /// The MAC the file name spells (`$MA.xml`, `$MAU.cfg`, `spa$MA.cfg`); it must be the caller's own.
    public var namedMAC: MACAddress?
    /// The partition the file name asks for (`$MA-lines.xml` asks for `lines`); '' for the main profile.
    public var partition: String = ""

    /// True for HEAD: headers only.
    public var isHead: Bool { method == "HEAD" }

    /// Reads `REQUEST_METHOD` and `PATH_INFO`. Any method but GET and HEAD is a 405; an ending other than
    /// `.xml`, `.gz` or `.cfg` (or none) is a 404.
    public init(environment: StringTable) throws(RequestError) {
        let method = environment["REQUEST_METHOD"] ?? "GET"
        guard method == "GET" || method == "HEAD" else {
            throw .methodNotServed(String(method.prefix(16)))
        }
        self.method = method
        let path = environment["PATH_INFO"] ?? ""
        // The last non-empty segment (no `split`: its array of substrings is one more generic type at start-up).
        var segment = Substring(path)
        while segment.hasSuffix("/") { segment = segment.dropLast() }
        if let slash = segment.lastIndex(of: "/") { segment = segment[segment.index(after: slash)...] }
        let name = String(segment)
        fileName = name
        var stem = Substring(name)
        if let dot = stem.lastIndex(of: "."), stem.startIndex != dot {
            let ending = stem[stem.index(after: dot)...].lowercased()
            switch ending {
            case "xml": form = .xml
            case "gz": form = .gz
            case "cfg": form = .cfg
            default: throw .noSuchForm(ending: String(ending.prefix(16)))
            }
            stem = stem[..<dot]
            // `$MA.xml.gz` names the same file as `$MA.gz`.
            if form != .xml, stem.lowercased().hasSuffix(".xml") { stem = stem.dropLast(4) }
        } else {
            form = .xml
        }
        // `<MAC spelling>-<partition>`: a partition is only ever named after a MAC, so `/$PSN.xml` and
        // `cisco-$MA.xml` keep meaning the main profile.
        if let dash = stem.lastIndex(of: "-"), dash != stem.startIndex {
            let name = String(stem[stem.index(after: dash)...]).lowercased()
            if Partition.isValidName(name), let mac = MACAddress.named(inFileName: String(stem[..<dash])) {
                namedMAC = mac
                partition = name
                return
            }
        }
        namedMAC = MACAddress.named(inFileName: String(stem))
    }
}
