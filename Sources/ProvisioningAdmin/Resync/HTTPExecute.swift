public import Provisioning
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The phone's XML execute interface: `POST http://PHONE/CGI/Execute` with the form field
/// `XML=<CP-8841-3PCCExecute><ExecuteItem URL="Resync:RULE"/></CP-8841-3PCCExecute>` (FACTS.md §7; the phone needs
/// `CISCO_XML_EXE_Enable`). With admin credentials the phone's 401 (Digest or Basic) is answered once. One
/// connection per phone, HTTP/1.1 with `Connection: close`, bounded by `timeout` seconds.
public struct HTTPExecute {
    public var timeout: Int

    public init(timeout: Int = 10) { self.timeout = timeout }

    /// The document for a product (`CP-8841-3PCC`, `CP-8841`, ...) and the rule to resync with.
    public static func document(model: String, rule: String) -> String {
        let element = ProfileService.productKey(model) + "-3PCCExecute"
        let escaped = rule.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        return "<\(element)><ExecuteItem URL=\"Resync:\(escaped)\"/></\(element)>"
    }

    /// `application/x-www-form-urlencoded` for one field.
    static func formEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value).replacingOccurrences(of: "%20", with: "+")
    }

    /// Posts `document` to `host:port`; the outcome names the status the phone answered.
    public func execute(mac: MACAddress, host: String, port: Int, document: String, username: String,
                        password: String?) -> ResyncOutcome {
        let started = Clock.monotonicMicroseconds()
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let body = "XML=" + Self.formEncoded(document)
        var sent = 0
        func outcome(_ succeeded: Bool, _ status: Int?, _ detail: String) -> ResyncOutcome {
            ResyncOutcome(mac: mac, address: address, succeeded: succeeded, status: status, detail: detail, sent: sent,
                          milliseconds: (Clock.monotonicMicroseconds() - started) / 1000)
        }
        var authorization: String? = nil
        for attempt in 0..<2 {
            let response: HTTPResponse
            do {
                sent += 1
                response = try exchange(host: host, port: port, path: "/CGI/Execute", body: body, authorization: authorization)
            } catch {
                return outcome(false, nil, "\(error)")
            }
            if response.status == 401 && attempt == 0 {
                guard let password else { return outcome(false, 401, "401 \(response.reason): challenged, and no Admin_Password is set") }
                if let header = response.header("www-authenticate"), let challenge = DigestChallenge(header: header), challenge.isSupported {
                    authorization = challenge.authorization(method: "POST", uri: "/CGI/Execute", username: username,
                                                            password: password, cnonce: randomHex(8))
                } else if response.header("www-authenticate")?.lowercased().hasPrefix("basic") == true {
                    authorization = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
                } else {
                    return outcome(false, 401, "401 \(response.reason): no challenge this build can answer")
                }
                continue
            }
            let after = attempt > 0 ? " after 401 challenge" : ""
            if response.status == 401 { return outcome(false, 401, "401 \(response.reason): admin credentials refused (Admin_Password)") }
            // The phone answers 200 with a CiscoIPPhoneResponse; an error document says so in its body.
            let text = String(decoding: response.body.prefix(2000), as: UTF8.self)
            if response.status == 200 && !text.contains("CiscoIPPhoneError") {
                return outcome(true, 200, "200 \(response.reason)\(after)")
            }
            let error = text.contains("CiscoIPPhoneError") ? ": " + text.trimmingCharacters(in: .whitespacesAndNewlines).prefix(120) : ""
            return outcome(false, response.status, "\(response.status) \(response.reason)\(after)\(error)")
        }
        return outcome(false, nil, "unreachable")
    }

    struct HTTPResponse {
        var status: Int
        var reason: String
        var headers: [(String, String)]
        var body: [UInt8]
        func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
    }

    struct HTTPProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// One request on a new connection; the whole answer read until the server closes it (or Content-Length).
    func exchange(host: String, port: Int, path: String, body: String, authorization: String?) throws -> HTTPResponse {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else { throw HTTPProblem(description: "address \(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPProblem(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw HTTPProblem(description: "connect: \(String(cString: strerror(errno)))")
        }
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var request = "POST \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: provctl (Provisioner)\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
        if let authorization { request += "Authorization: \(authorization)\r\n" }
        request += "\r\n" + body
        guard FileDescriptor.writeAll(fd, Array(request.utf8)) else {
            throw HTTPProblem(description: "send: \(String(cString: strerror(errno)))")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while received.count < 1 << 20 {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw HTTPProblem(description: "no answer within \(timeout) s") }
            if count == 0 { break }
            received += buffer[0..<count]
            if let response = Self.parse(received), let length = response.header("content-length").flatMap({ Int($0) }),
               response.body.count >= length { break }
        }
        guard let response = Self.parse(received) else { throw HTTPProblem(description: "not an HTTP answer") }
        return response
    }

    static func parse(_ bytes: [UInt8]) -> HTTPResponse? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4 else { return nil }
        var end: Int? = nil
        for index in 0...(bytes.count - 4) where bytes[index..<(index + 4)].elementsEqual(separator) { end = index; break }
        guard let end else { return nil }
        var lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/"), let status = Int(statusLine[1]) else { return nil }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return HTTPResponse(status: status, reason: statusLine.count > 2 ? String(statusLine[2]) : "", headers: headers,
                            body: Array(bytes[(end + 4)...]))
    }
}
