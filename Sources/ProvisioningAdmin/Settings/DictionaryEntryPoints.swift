public import Provisioning
// Entry points for callers that hold a `[String: String]` environment (provctl, tests): the CGI itself reads its
// environment into a StringTable and never builds a Dictionary.

extension Request {
    /// `init(environment:)` for a dictionary.
    public init(environment: [String: String]) {
        self.init(environment: StringTable(environment))
    }
}

extension Configuration {
    /// `init(environment:)` for a dictionary.
    public init(environment: [String: String]) {
        self.init(environment: StringTable(environment))
    }
}

extension ProfileService {
    /// Answers a request given as a dictionary, on a service configured from the same dictionary.
    public static func respond(environment: [String: String], now: Int) -> Answer {
        ProfileService(configuration: Configuration(environment: environment))
            .respond(to: Request(environment: environment), now: now)
    }
}

extension ClientIdentity {
    /// `from(environment:)` for a dictionary.
    public static func from(environment: [String: String]) throws(IdentityError) -> ClientIdentity {
        try from(environment: StringTable(environment))
    }
}

extension ProfileRequest {
    /// `init(environment:)` for a dictionary.
    public init(environment: [String: String]) throws(RequestError) {
        try self.init(environment: StringTable(environment))
    }
}
