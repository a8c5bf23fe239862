/// A request the server answers with a 4xx or 5xx: an ordinary outcome, not a crash.
public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status: 403, 404, 405 or 500.
    public var status: Int
    /// The one-line class sent as the body and logged: `unknown device`, `MAC mismatch`, ...
    /// It never holds anything internal; a 500 always says `server error`.
    public var reason: String
    /// More for the log line only (which variable was undefined, what SQLite said). Never a secret.
    public var detail: String?
    /// A 401's `WWW-Authenticate` value (the Digest challenge).
    public var challenge: String?
    /// A 429's or 503's `Retry-After`, in seconds, when it is not the default 5.
    public var retryAfter: Int?

    public init(_ status: Int, _ reason: String, detail: String? = nil, challenge: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.reason = reason
        self.detail = detail
        self.challenge = challenge
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status) \(reason)" + (detail.map { ": \($0)" } ?? "") }

    /// A 500 whose body says only `server error`; `detail` goes to the log.
    public static func serverError(_ detail: String) -> Refusal { Refusal(500, "server error", detail: detail) }
}
