public import Provisioning
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One phone to push.
public struct ResyncTarget: Sendable {
    public var mac: MACAddress
    /// Host name or address, and port.
    public var host: String
    public var port: Int
    /// The user part of the Request-URI and To (the first line's `User_ID_1_`); may be empty.
    public var user: String
    /// Digest credentials (`Auth_ID_1_`, else `User_ID_1_`; `Password_1_`); nil when the line has no password.
    public var authID: String?
    public var password: String?

    public init(mac: MACAddress, host: String, port: Int, user: String, authID: String?, password: String?) {
        self.mac = mac
        self.host = host
        self.port = port
        self.user = user
        self.authID = authID
        self.password = password
    }

    /// `host:port`, IPv6 in brackets.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How one push ended.
public struct ResyncOutcome: Sendable {
    public var mac: MACAddress
    public var address: String
    public var succeeded: Bool
    /// The final SIP or HTTP status, nil without an answer.
    public var status: Int?
    /// One line: `200 OK`, `200 OK after 401 challenge`, `no answer (timer F, 32 s)`, ...
    public var detail: String
    /// Requests sent, retransmissions included.
    public var sent: Int
    /// Milliseconds from the first request to the outcome.
    public var milliseconds: Int

    public init(mac: MACAddress, address: String, succeeded: Bool, status: Int?, detail: String, sent: Int, milliseconds: Int) {
        self.mac = mac
        self.address = address
        self.succeeded = succeeded
        self.status = status
        self.detail = detail
        self.sent = sent
        self.milliseconds = milliseconds
    }
}

/// Sends `NOTIFY` with `Event: resync` to phones over UDP, as a SIP user agent client (RFC 3261 §17.1.2, the
/// non-INVITE client transaction): the request is retransmitted at T1, 2·T1, 4·T1 ... capped at T2 (4 s), and
/// every T2 once a provisional answer came; without a final answer by 64·T1 (timer F, 32 s) the push failed. A
/// 401 or 407 is answered once with the line's digest credentials in a new transaction: a new Via branch
/// (`z9hG4bK...`), the same Call-ID and From tag, CSeq incremented. Transactions overlap: a new one starts every
/// 1/rate seconds on one socket, and responses are matched by the top Via's branch.
public final class SIPNotifier {
    /// RFC 3261 T1 in milliseconds (500); tests shorten it.
    public var t1: Int
    public var t2: Int { 8 * t1 }
    public var event: String

    public init(t1Milliseconds: Int = 500, event: String = "resync") {
        t1 = t1Milliseconds
        self.event = event
    }

    struct Transaction {
        var target: ResyncTarget
        var index: Int
        var branch: String
        var callID: String
        var fromTag: String
        var cseq: Int
        var message: [UInt8]
        var destination: sockaddr_storage
        var destinationLength: socklen_t
        var socket: Int32
        var localHost: String
        var localPort: Int
        var started: Int
        var nextSend: Int
        var interval: Int
        var deadline: Int
        var sent = 0
        var challenged: Int? = nil
        var proceeding = false
    }

    /// Pushes every target, starting one every `1/rate` s, and calls `report` as each finishes (in the order they
    /// finish); returns the outcomes in the targets' order.
    public func run(_ targets: [ResyncTarget], rate: Double, report: (ResyncOutcome) -> Void) -> [ResyncOutcome] {
        var outcomes = [ResyncOutcome?](repeating: nil, count: targets.count)
        var sockets: [Int32: Int32] = [:]  // family -> socket
        defer { for socket in sockets.values { close(socket) } }
        var live: [String: Transaction] = [:]  // branch -> transaction
        var retired: Set<String> = []
        let spacing = rate > 0 ? Int(1000.0 / rate) : 0
        var nextStart = now()
        var pending = 0
        func finish(_ transaction: Transaction, succeeded: Bool, status: Int?, detail: String) {
            let outcome = ResyncOutcome(mac: transaction.target.mac, address: transaction.target.address,
                                        succeeded: succeeded, status: status, detail: detail, sent: transaction.sent,
                                        milliseconds: now() - transaction.started)
            outcomes[transaction.index] = outcome
            report(outcome)
        }
        func send(_ transaction: inout Transaction) {
            let count = transaction.message.withUnsafeBytes { bytes in
                withUnsafePointer(to: &transaction.destination) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(transaction.socket, bytes.baseAddress, bytes.count, 0, $0, transaction.destinationLength)
                    }
                }
            }
            if count >= 0 { transaction.sent += 1 }
        }
        while pending < targets.count || !live.isEmpty {
            var current = now()
            // Start the next transaction when its turn comes.
            if pending < targets.count && current >= nextStart {
                let target = targets[pending]
                let index = pending
                pending += 1
                nextStart = max(nextStart + spacing, current)
                switch prepare(target, index: index, sockets: &sockets, now: current) {
                case .success(var transaction):
                    send(&transaction)
                    live[transaction.branch] = transaction
                case .failure(let problem):
                    outcomes[index] = ResyncOutcome(mac: target.mac, address: target.address, succeeded: false,
                                                    status: nil, detail: problem.description, sent: 0, milliseconds: 0)
                    report(outcomes[index]!)
                }
                continue
            }
            // Wait for an answer until the next timer.
            var wake = pending < targets.count ? nextStart : current + 1000
            for transaction in live.values { wake = min(wake, transaction.nextSend, transaction.deadline) }
            var descriptors = sockets.values.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = descriptors.isEmpty ? 0 : poll(&descriptors, nfds_t(descriptors.count), Int32(max(0, min(wake - current, 1000))))
            if descriptors.isEmpty && wake > current { usleep(useconds_t(min(wake - current, 1000) * 1000)) }
            if ready > 0 {
                for descriptor in descriptors where descriptor.revents & Int16(POLLIN) != 0 {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    while true {
                        let count = recv(descriptor.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                        guard count > 0 else { break }
                        guard let response = SIPResponse(Array(buffer[0..<count])) else { continue }
                        guard var transaction = live[response.branch ?? ""] else { continue }
                        if retired.contains(response.branch ?? "") { continue }
                        if response.status < 200 {
                            // Proceeding: stop the short retransmissions; keep waiting for the final answer.
                            transaction.proceeding = true
                            transaction.interval = t2
                            transaction.nextSend = now() + t2
                            live[transaction.branch] = transaction
                            continue
                        }
                        live[transaction.branch] = nil
                        retired.insert(transaction.branch)
                        if (response.status == 401 || response.status == 407) && transaction.challenged == nil {
                            let header = response.header(response.status == 401 ? "www-authenticate" : "proxy-authenticate")
                            guard let password = transaction.target.password,
                                  let challenge = header.flatMap(DigestChallenge.init(header:)) else {
                                finish(transaction, succeeded: false, status: response.status,
                                       detail: "\(response.status) \(response.reason): challenged, and "
                                           + (transaction.target.password == nil ? "the line has no Password_1_" : "no Digest challenge to answer"))
                                continue
                            }
                            guard challenge.isSupported else {
                                finish(transaction, succeeded: false, status: response.status,
                                       detail: "\(response.status) \(response.reason): digest \(challenge.algorithm ?? "MD5") qop \(challenge.qop) not supported")
                                continue
                            }
                            let username = transaction.target.authID ?? transaction.target.user
                            let uri = requestURI(transaction.target)
                            let authorization = challenge.authorization(method: "NOTIFY", uri: uri, username: username,
                                                                        password: password, cnonce: randomHex(8))
                            var retry = transaction
                            retry.challenged = response.status
                            retry.cseq += 1
                            retry.branch = "z9hG4bK" + randomHex(10)
                            retry.message = message(retry, authorization: (response.status == 401 ? "Authorization" : "Proxy-Authorization", authorization))
                            current = now()
                            retry.interval = t1
                            retry.nextSend = current + t1
                            retry.deadline = current + 64 * t1
                            retry.proceeding = false
                            send(&retry)
                            live[retry.branch] = retry
                            continue
                        }
                        let after = transaction.challenged.map { " after \($0) challenge" } ?? ""
                        if response.status < 300 {
                            finish(transaction, succeeded: true, status: response.status, detail: "\(response.status) \(response.reason)\(after)")
                        } else if transaction.challenged != nil && (response.status == 401 || response.status == 407) {
                            finish(transaction, succeeded: false, status: response.status,
                                   detail: "\(response.status) \(response.reason): credentials refused (User_ID_1_/Auth_ID_1_, Password_1_)")
                        } else {
                            finish(transaction, succeeded: false, status: response.status, detail: "\(response.status) \(response.reason)\(after)")
                        }
                    }
                }
            }
            // Timers: retransmit (E), give up (F).
            current = now()
            for (branch, var transaction) in live {
                if current >= transaction.deadline {
                    live[branch] = nil
                    retired.insert(branch)
                    finish(transaction, succeeded: false, status: nil,
                           detail: "no answer (timer F, \(64 * t1 / 1000) s, \(transaction.sent) sent)")
                } else if current >= transaction.nextSend {
                    send(&transaction)
                    transaction.interval = transaction.proceeding ? t2 : min(transaction.interval * 2, t2)
                    transaction.nextSend = current + transaction.interval
                    live[branch] = transaction
                }
            }
        }
        return outcomes.map { $0! }
    }

    enum PrepareResult {
        case success(Transaction)
        case failure(ResyncProblem)
    }

    struct ResyncProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// Resolves the address, picks the socket of its family (bound once, on an ephemeral port), and learns the
    /// local address the kernel routes from (for Via and Contact).
    func prepare(_ target: ResyncTarget, index: Int, sockets: inout [Int32: Int32], now: Int) -> PrepareResult {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(ResyncProblem(description: "address \(target.host): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(list) }
        let family = first.pointee.ai_family
        var destination = sockaddr_storage()
        let length = first.pointee.ai_addrlen
        memcpy(&destination, first.pointee.ai_addr, Int(length))
        let socket: Int32
        if let existing = sockets[family] {
            socket = existing
        } else {
            let made = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue), 0)
            guard made >= 0 else { return .failure(ResyncProblem(description: "socket: \(String(cString: strerror(errno)))")) }
            sockets[family] = made
            socket = made
        }
        // The local port of the shared socket (bound on first send; bind now to know it).
        var bound = sockaddr_storage()
        var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socket, $0, &boundLength) } }
        var localPort = Self.port(of: bound)
        if localPort == 0 {
            var any = sockaddr_storage()
            any.ss_family = sa_family_t(family)
            let size = family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
            _ = withUnsafePointer(to: &any) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(size)) } }
            boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socket, $0, &boundLength) } }
            localPort = Self.port(of: bound)
        }
        // The source address toward this phone: connect a scratch UDP socket (nothing is sent) and read it back.
        var localHost = family == AF_INET6 ? "::1" : "127.0.0.1"
        let probe = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        if probe >= 0 {
            let connected = withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, length) }
            }
            if connected == 0 {
                var local = sockaddr_storage()
                var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(probe, $0, &localLength) } }
                if let host = Self.host(of: local) { localHost = host }
            }
            close(probe)
        }
        var transaction = Transaction(target: target, index: index, branch: "z9hG4bK" + randomHex(10),
                                      callID: randomHex(12) + "@" + localHost, fromTag: randomHex(6), cseq: 1,
                                      message: [], destination: destination, destinationLength: length, socket: socket,
                                      localHost: localHost, localPort: localPort, started: now, nextSend: now + t1,
                                      interval: t1, deadline: now + 64 * t1)
        transaction.message = message(transaction, authorization: nil)
        return .success(transaction)
    }

    /// `sip:user@host:port`.
    func requestURI(_ target: ResyncTarget) -> String {
        let host = target.host.contains(":") ? "[\(target.host)]" : target.host
        return "sip:" + (target.user.isEmpty ? "" : target.user + "@") + host + ":" + String(target.port)
    }

    /// The NOTIFY of `transaction`, with an `Authorization`/`Proxy-Authorization` header when retrying.
    func message(_ transaction: Transaction, authorization: (String, String)?) -> [UInt8] {
        let uri = requestURI(transaction.target)
        let local = transaction.localHost.contains(":") ? "[\(transaction.localHost)]" : transaction.localHost
        var lines = [
            "NOTIFY \(uri) SIP/2.0",
            "Via: SIP/2.0/UDP \(local):\(transaction.localPort);branch=\(transaction.branch);rport",
            "Max-Forwards: 70",
            "From: <sip:provisioner@\(local)>;tag=\(transaction.fromTag)",
            "To: <\(uri)>",
            "Call-ID: \(transaction.callID)",
            "CSeq: \(transaction.cseq) NOTIFY",
            "Contact: <sip:provisioner@\(local):\(transaction.localPort)>",
            "Event: \(event)",
            "Subscription-State: active",
            "User-Agent: provctl (Provisioner)",
        ]
        if let (name, value) = authorization { lines.append("\(name): \(value)") }
        lines.append("Content-Length: 0")
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    static func port(of address: sockaddr_storage) -> Int {
        var copy = address
        switch Int32(address.ss_family) {
        case AF_INET: return withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6: return withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default: return 0
        }
    }

    static func host(of address: sockaddr_storage) -> String? {
        var copy = address
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let length = socklen_t(Int32(address.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
            }
        }
        return rc == 0 ? String(cString: buffer) : nil
    }

    func now() -> Int { Clock.monotonicMicroseconds() / 1000 }
}

/// A SIP response: status, reason, headers (names lower-cased, compact forms expanded), the top Via's branch.
struct SIPResponse {
    var status: Int
    var reason: String
    var headers: [(String, String)]
    var branch: String?

    init?(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n").first ?? text
        var lines = head.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("SIP/2.0"), let status = Int(statusLine[1]) else { return nil }
        self.status = status
        reason = statusLine.count > 2 ? String(statusLine[2]) : ""
        headers = []
        let compact = ["v": "via", "i": "call-id", "f": "from", "t": "to", "m": "contact", "l": "content-length", "o": "event"]
        for line in lines {
            if (line.hasPrefix(" ") || line.hasPrefix("\t")), !headers.isEmpty {
                headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            var name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            name = compact[name] ?? name
            headers.append((name, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if let via = headers.first(where: { $0.0 == "via" })?.1 {
            let first = via.split(separator: ",").first.map(String.init) ?? via
            for parameter in first.split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "branch" {
                    branch = pair[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
    }

    func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
}
