// Entry points for callers that hold a `[String: String]` environment (provctl, tests): the CGI itself passes a
// StringTable and never builds a Dictionary.

extension ProfileService {
    /// `databasePath(environment:)` for a dictionary.
    public static func databasePath(environment: [String: String]) -> String {
        databasePath(environment: StringTable(environment))
    }

    /// `respond(environment:now:)` for a dictionary.
    public func respond(environment: [String: String], now: Int) -> (response: CGIResponse, log: RequestLog) {
        respond(environment: StringTable(environment), now: now)
    }
}

extension ClientIdentity {
    /// `from(environment:)` for a dictionary.
    public static func from(environment: [String: String]) throws(Refusal) -> ClientIdentity {
        try from(environment: StringTable(environment))
    }
}

extension ProfileRequest {
    /// `init(environment:)` for a dictionary.
    public init(environment: [String: String]) throws(Refusal) {
        try self.init(environment: StringTable(environment))
    }
}
