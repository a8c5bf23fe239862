/// What the service decided about one request, beyond what the request itself says: the status and reason, who
/// the answer went to when no certificate said it, how that caller proved it, and what the journal is to keep.
/// The service returns it with the response; the log line (`RequestLog`) and the journal record (`Bookkeeping`)
/// are derived from the request and this value once, after the answer is written (`Answer.log`,
/// `Answer.bookkeeping`), as hummingbird's MetricsMiddleware records after the body: nothing threads a record
/// through the service.
public struct Outcome: Sendable {
    public var status = 500
    public var reason = "server error"
    /// More for the log line only (never a secret).
    public var detail: String?
    /// The form asked for (`xml`, `gz`, `cfg`) or `report`; the journal keeps it on every answer.
    public var form: String?
    /// The log line names the form: on a served profile, and on every report.
    public var logsForm = false
    /// The MAC the answer went to when no certificate named it (an account's or a bootstrap device's).
    public var settledMAC: MACAddress?
    /// How a caller without a usable certificate tried to prove who it is: `account` or `bootstrap`.
    public var auth: String?
    /// What the log line notes besides (the User-Agent's MAC differs from the certificate's).
    public var note: String?
    /// The caller proved the identity (certificate or account) and the device's checks passed.
    public var trusted = false
    /// A valid certificate named no device: a claim.
    public var claim = false
    /// SHA-256 of the plaintext profile served, hex (only when a journal records it).
    public var sha256: String?
    /// The report stored (`Bookkeeping.reportEncoding` …); nil encoding when none.
    public var reportEncoding: String?
    public var reportName: String?
    public var reportReceivedBytes = 0
    public var reportBody: [UInt8] = []

    public init() {}

    /// The outcome of a refusal.
    mutating func refused(_ refusal: Refusal) {
        status = refusal.status
        reason = refusal.reason
        detail = refusal.detail
    }
}

/// What the service hands back for one request: the bytes for the phone, and the request and its outcome, from
/// which the log line and the journal record are derived once the phone has its answer.
public struct Answer: Sendable {
    public var response: CGIResponse
    public let request: Request
    public var outcome: Outcome
    /// Unix microseconds when the request was answered.
    public let at: Int
    /// Microseconds the answer took (set by the caller once the bytes are written).
    public var microseconds: Int?

    public init(request: Request, response: CGIResponse, outcome: Outcome, at: Int) {
        self.request = request
        self.response = response
        self.outcome = outcome
        self.at = at
    }

    /// Stamps the time the answer took, once the bytes are written.
    public mutating func finish(microseconds: Int) {
        self.microseconds = microseconds
    }

    /// Who, what, the outcome, size and time, as both the log line and the journal record name it.
    @inline(__always) public var exchange: Exchange {
        var exchange = Exchange(request: request)
        exchange.status = outcome.status
        exchange.reason = outcome.reason
        exchange.form = outcome.form
        if let mac = outcome.settledMAC { exchange.mac = mac }
        exchange.bytes = response.body.count
        exchange.microseconds = microseconds
        return exchange
    }

    /// The log line's record.
    public var log: RequestLog {
        var log = RequestLog(request: request, exchange: exchange)
        log.logsForm = outcome.logsForm
        log.detail = outcome.detail
        log.auth = outcome.auth
        if let note = outcome.note { log.notes.append(note) }
        return log
    }

    /// The journal's record.
    public var bookkeeping: Bookkeeping {
        var record = Bookkeeping(request: request, exchange: exchange, now: at)
        record.sha256 = outcome.sha256
        record.trusted = outcome.trusted
        record.claim = outcome.claim
        record.reportEncoding = outcome.reportEncoding
        record.reportName = outcome.reportName
        record.reportReceivedBytes = outcome.reportReceivedBytes
        record.reportBody = outcome.reportBody
        return record
    }
}
