/// An HTTP answer as a CGI program writes it: headers, a blank line, the body.
public struct CGIResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// Headers beyond the standard four (`Allow` on a 405).
    public var extraHeaders: [(String, String)]
    /// HEAD: the same headers, no body.
    public var omitsBody: Bool

    public init(status: Int, contentType: String, body: [UInt8], extraHeaders: [(String, String)] = [], omitsBody: Bool = false) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.extraHeaders = extraHeaders
        self.omitsBody = omitsBody
    }

    /// The one-line plain-text answer to a refusal.
    public init(refusal: Refusal, omitsBody: Bool = false) {
        var headers: [(String, String)] = []
        // The headers each refusal adds, by its case (RefusalKind).
        if refusal.kind.allowsHeader { headers.append(("Allow", "GET, HEAD")) }
        if refusal.kind.retries { headers.append(("Retry-After", String(refusal.retryAfter ?? 5))) }
        if refusal.kind.challenges, let challenge = refusal.challenge { headers.append(("WWW-Authenticate", challenge)) }
        self.init(status: refusal.status, contentType: "text/plain; charset=utf-8", body: Array((refusal.reason + "\n").utf8),
                  extraHeaders: headers, omitsBody: omitsBody)
    }

    public static func == (lhs: CGIResponse, rhs: CGIResponse) -> Bool {
        lhs.status == rhs.status && lhs.contentType == rhs.contentType && lhs.body == rhs.body
            && lhs.omitsBody == rhs.omitsBody && lhs.extraHeaders.elementsEqual(rhs.extraHeaders, by: { $0 == $1 })
    }

    /// The reason phrase for the statuses this server sends.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 429: "Too Many Requests"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Content Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }

    /// The bytes to write on stdout: `Status:` on every non-200, Content-Type, Content-Length, Cache-Control.
    /// Built as bytes: a String grown by appends frees its old storage on the way, which costs the CGI a metadata
    /// instantiation in the Swift runtime.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + (omitsBody ? 0 : body.count))
        func add(_ text: String) {
            var text = text
            text.withUTF8 { out.append(contentsOf: $0) }
        }
        if status != 200 {
            add("Status: ")
            add(String(status))
            add(" ")
            add(Self.reasonPhrase(status))
            add("\r\n")
        }
        add("Content-Type: ")
        add(contentType)
        add("\r\nContent-Length: ")
        add(String(body.count))
        add("\r\nCache-Control: no-store\r\n")
        for (name, value) in extraHeaders {
            add(name)
            add(": ")
            add(value)
            add("\r\n")
        }
        add("\r\n")
        if !omitsBody { out += body }
        return out
    }
}
