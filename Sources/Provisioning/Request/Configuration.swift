/// How this server is set up, read once from the environment: where the two databases are and what to record.
/// A CGI reads it from its environment on every start; a FastCGI responder from its process environment once.
public struct Configuration: Sendable, Equatable {
    /// The configuration database (`PROVISIONER_DB`), opened read-only.
    public var databasePath: String
    /// The journal (`PROVISIONER_JOURNAL`, default `journal.db` beside the configuration database).
    public var journalPath: String
    /// Whether serving writes the journal at all (`PROVISIONER_RECORD_SEEN=0` turns it off).
    public var recordsJournal: Bool
    /// This node's name in the journal (`PROVISIONER_NODE`, default the host name).
    public var node: String
    /// How long a journal write may wait for another writer's lock, in milliseconds
    /// (`PROVISIONER_JOURNAL_WAIT_MS`). A CGI writes after the phone's connection is closed; a FastCGI responder
    /// waits far less and keeps what it could not write for after the next request.
    public var journalWaitMilliseconds: Int32
    /// How long a read of the configuration database may wait for a lock before the phone gets 503
    /// (`PROVISIONER_DB_WAIT_MS`).
    public var databaseWaitMilliseconds: Int32

    public init(databasePath: String, journalPath: String? = nil, recordsJournal: Bool = true, node: String? = nil,
                journalWaitMilliseconds: Int32 = 250, databaseWaitMilliseconds: Int32 = 100) {
        self.databasePath = databasePath
        self.journalPath = journalPath ?? Self.defaultJournalPath(databasePath: databasePath)
        self.recordsJournal = recordsJournal
        self.node = node ?? HostName.current()
        self.journalWaitMilliseconds = journalWaitMilliseconds
        self.databaseWaitMilliseconds = databaseWaitMilliseconds
    }

    /// Reads the `PROVISIONER_*` variables.
    public init(environment: StringTable) {
        let database = environment["PROVISIONER_DB"].nonEmpty ?? ConfigurationStore.defaultPath
        self.init(databasePath: database,
                  journalPath: environment["PROVISIONER_JOURNAL"].nonEmpty,
                  recordsJournal: environment["PROVISIONER_RECORD_SEEN"] != "0",
                  node: environment["PROVISIONER_NODE"].nonEmpty,
                  journalWaitMilliseconds: Self.milliseconds(environment["PROVISIONER_JOURNAL_WAIT_MS"]) ?? 250,
                  databaseWaitMilliseconds: Self.milliseconds(environment["PROVISIONER_DB_WAIT_MS"]) ?? 100)
    }

    /// `journal.db` in the configuration database's folder.
    public static func defaultJournalPath(databasePath: String) -> String {
        let folder = FilePath.directory(of: databasePath)
        return (folder == "/" ? "" : folder) + "/journal.db"
    }

    static func milliseconds(_ text: String?) -> Int32? {
        guard let text, let value = Int32(text), value >= 0, value <= 10_000 else { return nil }
        return value
    }
}

/// One request, read once from its environment (a CGI's, or a FastCGI request's parameters): everything the
/// service looks at. Nothing later reads the environment again.
public struct Request: Sendable {
    /// `REQUEST_METHOD` (GET if unset).
    public var method: String
    /// `PATH_INFO`.
    public var path: String?
    /// `HTTP_USER_AGENT`, as sent.
    public var userAgentText: String?
    /// `REMOTE_ADDR`.
    public var remoteAddress: String?
    /// `CONTENT_LENGTH`, 0 when absent.
    public var contentLength: Int
    /// `SSL_CLIENT_M_SERIAL`: the certificate's serial number (not the phone's).
    public var certificateSerial: String?
    /// What a request can be: a profile, a phone's report, or refused before anyone is identified.
    public enum Kind: Sendable {
        /// A profile (`GET`/`HEAD …/<name>.xml|.gz|.cfg`).
        case profile(ProfileRequest)
        /// A phone's report (`POST …/report/<name>`).
        case report(ReportRequest)
        /// Refused by its method or file name (405, 404), before anyone is identified.
        case refused(RequestError)
    }

    /// What was asked.
    public var kind: Kind
    /// Who is calling; nil when nobody could be identified (`certificateRefusal` says why, when it can).
    public var identity: ClientIdentity?
    /// Why the certificate identifies nobody (403).
    public var certificateRefusal: IdentityError?

    /// The profile asked for, if that is what the request is.
    public var profileRequest: ProfileRequest? {
        if case .profile(let asked) = kind { return asked }
        return nil
    }

    /// The report, if that is what the request is.
    public var report: ReportRequest? {
        if case .report(let report) = kind { return report }
        return nil
    }

    /// The first refusal the request earned while it was read, in the order the service checks: the method and
    /// file name first, then the certificate.
    public var refusal: Refusal? {
        if case .refused(let error) = kind { return error.refusal }
        return certificateRefusal?.refusal
    }

    /// The User-Agent, read.
    public var userAgent: UserAgent? { userAgentText.map(UserAgent.init) }
    /// The request body, as much of it as the caller read (at most `bodyLimit` bytes; a phone's report).
    public var body: [UInt8] = []
    /// `HTTP_AUTHORIZATION` (Apache passes it to the CGI with `CGIPassAuth On`): a phone's Basic or Digest answer.
    public var authorization: String?
    /// True when the request came over TLS (`HTTPS=on`): credentials are only ever accepted then.
    public var isHTTPS = false
    /// `REQUEST_URI`: what a Digest response signs.
    public var requestURI: String?

    /// `HTTP_TRANSFER_ENCODING` names `chunked`: no `CONTENT_LENGTH`, the body is read to its end.
    public var isChunked = false

    /// The most of a body the caller keeps; a larger body is refused (413).
    public static let bodyLimit = 1 << 20
    /// How much of an allowed body the caller reads at most, so that the web server sees a slightly larger one
    /// consumed (no reset) before the 413.
    public static let drainLimit = 2 << 20
    /// How much of a body no identity allows is read and dropped (never kept), so that Apache sees it consumed
    /// and answers the refusal cleanly rather than resetting the connection: what Apache itself accepts
    /// (`LimitRequestBody` 2 MiB in the site files), within `bodySeconds`.
    public static let unwantedDrainLimit = drainLimit
    /// The time a CGI gives a body to arrive, in seconds (a slow sender holds a process; mod_reqtimeout's
    /// `body=20,MinRate=500` is Apache's own limit in front).
    public static let bodySeconds = 10

    /// True when the caller's identity allows a body at all: a report POST from a verified certificate with
    /// nothing refused yet. Any other body is not kept (read and dropped up to `unwantedDrainLimit`).
    public var bodyAllowed: Bool { report != nil && identity != nil && certificateRefusal == nil }

    /// How many bytes of the body to keep (one past `bodyLimit`, so a chunked body too large shows as such) and
    /// how many to read in all.
    public var bodyPlan: (keep: Int, read: Int) {
        guard bodyAllowed else { return (0, min(contentLength, Self.unwantedDrainLimit)) }
        if contentLength > 0 { return (min(contentLength, Self.bodyLimit + 1), min(contentLength, Self.drainLimit)) }
        return isChunked ? (Self.bodyLimit + 1, Self.bodyLimit + 1) : (0, 0)
    }

    public init(environment: StringTable) {
        method = environment["REQUEST_METHOD"] ?? "GET"
        path = environment["PATH_INFO"]
        userAgentText = environment["HTTP_USER_AGENT"]
        remoteAddress = environment["REMOTE_ADDR"]
        contentLength = environment["CONTENT_LENGTH"].flatMap { Int($0) } ?? 0
        certificateSerial = environment["SSL_CLIENT_M_SERIAL"]
        authorization = environment["HTTP_AUTHORIZATION"]
        isHTTPS = environment["HTTPS"] == "on"
        requestURI = environment["REQUEST_URI"]
        if let coding = environment["HTTP_TRANSFER_ENCODING"] {
            // ASCII case folding by bytes (String.lowercased() would link Unicode's tables into the CGI).
            let folded = coding.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            isChunked = folded.count >= 7 && (0...(folded.count - 7)).contains { folded[$0..<($0 + 7)].elementsEqual("chunked".utf8) }
        }
        if method == "POST", let report = ReportRequest(path: path) {
            kind = .report(report)
        } else {
            do {
                kind = .profile(try ProfileRequest(environment: environment))
            } catch {
                kind = .refused(error)
            }
        }
        do {
            identity = try ClientIdentity.from(environment: environment)
        } catch {
            certificateRefusal = error
        }
    }

    /// True for HEAD: headers only.
    public var isHead: Bool { method == "HEAD" }
}
