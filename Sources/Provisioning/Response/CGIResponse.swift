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
        if refusal.status == 405 { headers.append(("Allow", "GET, HEAD")) }
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
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 500: "Internal Server Error"
        default: "Error"
        }
    }

    /// The bytes to write on stdout: `Status:` on every non-200, Content-Type, Content-Length, Cache-Control.
    public func serialized() -> [UInt8] {
        var head = ""
        if status != 200 { head += "Status: \(status) \(Self.reasonPhrase(status))\r\n" }
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Cache-Control: no-store\r\n"
        for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var out = Array(head.utf8)
        if !omitsBody { out += body }
        return out
    }
}
