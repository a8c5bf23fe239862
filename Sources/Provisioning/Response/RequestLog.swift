/// What one answered request was, as both the log line (`RequestLog`) and the journal record (`Bookkeeping`) name
/// it: who called, what they asked, the outcome, size and time. Held once here; both records carry it and read
/// its fields as their own (`log.status`, `record.mac`).
public struct Exchange: Sendable {
    /// Who called, once the certificate was read (or the MAC the answer went to when no certificate named it).
    /// Three fields, not an optional `ClientIdentity`: copying that optional made the Swift runtime instantiate
    /// its generic metadata, 50k instructions on every request.
    public var mac: MACAddress?
    public var serial: String?
    public var model: String?
    /// The User-Agent header as sent.
    public var userAgent: String?
    public var remoteAddress: String?
    public var method: String
    public var path: String?
    /// The form asked for (`xml`, `gz`, `cfg`) or `report`.
    public var form: String?
    public var status = 500
    public var reason = "server error"
    public var bytes = 0
    /// Microseconds from the request's start to the answer written, set by the caller.
    public var microseconds: Int?

    @inline(__always) public init(request: Request) {
        method = request.method
        path = request.path
        remoteAddress = request.remoteAddress
        userAgent = request.userAgentText
        if let identity = request.identity {
            mac = identity.mac
            serial = identity.serial
            model = identity.model
        }
    }
}

/// The one line a request leaves in Apache's error log: who, what, the outcome, size and time. It holds no key,
/// no password and no setting value.
@dynamicMemberLookup
public struct RequestLog: Sendable {
    /// Who, what, the outcome, size and time: what the journal record names too.
    public var exchange: Exchange
    public var detail: String?
    public var notes: [String] = []
    /// The line names the form (`exchange.form`): on a served profile, and on every report.
    public var logsForm = true
    /// The partition asked for (`$MA-lines.xml`); nil for the main profile.
    public var partition: String?
    /// How the caller proved who it is, when not by certificate: `account` or `bootstrap`.
    public var auth: String?

    public init(request: Request) {
        self.init(request: request, exchange: Exchange(request: request))
    }

    init(request: Request, exchange: Exchange) {
        self.exchange = exchange
        if let requested = request.profileRequest, !requested.partition.isEmpty { partition = requested.partition }
    }

    public subscript<Value>(dynamicMember field: WritableKeyPath<Exchange, Value>) -> Value {
        get { exchange[keyPath: field] }
        set { exchange[keyPath: field] = newValue }
    }

    /// `key=value` pairs separated by spaces (see `appendEscaped`).
    public var line: String { String(decoding: lineBytes.dropLast(), as: UTF8.self) }

    /// `line` and its newline, as the CGI writes it to stderr. Built on bytes: this runs on every request.
    public var lineBytes: [UInt8] {
        var out: [UInt8] = Array("profile-cgi:".utf8)
        out.reserveCapacity(320)
        func field(_ key: StaticString, _ value: String?) {
            guard let value else { return }
            out.append(0x20)
            out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            out.append(UInt8(ascii: "="))
            Self.appendEscaped(value, to: &out)
        }
        field("status", String(exchange.status))
        field("reason", exchange.reason)
        field("mac", exchange.mac?.hex)
        field("serial", exchange.serial)
        field("model", exchange.model)
        field("fw", exchange.userAgent.map(UserAgent.init)?.firmware)
        field("addr", exchange.remoteAddress)
        field("method", exchange.method)
        field("path", exchange.path)
        field("form", logsForm ? exchange.form : nil)
        field("partition", partition)
        field("auth", auth)
        field("bytes", String(exchange.bytes))
        field("us", exchange.microseconds.map { String($0) })
        field("detail", detail)
        for note in notes { field("note", note) }
        out.append(0x0a)
        return out
    }

    /// Appends `value` so that it reads as one field that nothing in it can forge: printable ASCII stays as it
    /// is; a space, `=`, `"` or `\` puts the value in double quotes, with `"` and `\` escaped; every other byte
    /// (control characters, DEL, anything outside ASCII: bidi overrides such as U+202E, invalid UTF-8) is written
    /// `\xHH`. At most 200 bytes of the value are shown, then `...`.
    public static func appendEscaped(_ value: String, to out: inout [UInt8]) {
        var clean: [UInt8] = []
        clean.reserveCapacity(min(value.utf8.count, 200) + 8)
        var needsQuotes = value.isEmpty
        var taken = 0
        let digits = Hex.lowercaseDigits
        for byte in value.utf8 {
            if taken >= 200 {
                clean += [UInt8(ascii: "."), UInt8(ascii: "."), UInt8(ascii: ".")]
                break
            }
            taken += 1
            switch byte {
            case 0x20, UInt8(ascii: "="):
                needsQuotes = true
                clean.append(byte)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                needsQuotes = true
                clean.append(UInt8(ascii: "\\"))
                clean.append(byte)
            case 0x21...0x7e:
                clean.append(byte)
            default:
                clean.append(UInt8(ascii: "\\"))
                clean.append(UInt8(ascii: "x"))
                clean.append(digits.utf8Start[Int(byte >> 4)])
                clean.append(digits.utf8Start[Int(byte & 15)])
            }
        }
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
        out += clean
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
    }
}

/// What serving records about one answered request, handed back with the answer and written to the journal
/// after the phone has its bytes: one fetch row always, the device's `seen` row on a 200, a claim for a valid
/// certificate of no known device.
@dynamicMemberLookup
public struct Bookkeeping: Sendable {
    /// Unix microseconds when the request was answered.
    public var at: Int
    /// Who, what, the outcome, size and time: what the log line names too.
    public var exchange: Exchange
    public var certificateSHA256: String?
    public var certificateSerial: String?
    /// SHA-256 of the plaintext profile served (the XML before gzip and encryption), hex; nil unless 200.
    public var sha256: String?
    /// A valid certificate named no device: remember it as a claim.
    public var claim = false
    /// The caller proved the identity this record names (a verified certificate or an accepted account) and the
    /// device's checks passed. Only such a record moves the admin's picture of the device (`seen`, its address,
    /// firmware, `pending`); the others are kept as untrusted claims (a bootstrap fetch names a device without
    /// proving anything).
    public var trusted = false
    /// A report the phone POSTed (`Report_Rule`), stored as the device's latest: how it came (`xml`, `gz`, `cfg`,
    /// `cfg+gz`; nil when this is no stored report), the file name it was posted to, the bytes received, and the
    /// plaintext XML. Flat fields, not an optional struct: see `RequestLog`.
    public var reportEncoding: String?
    public var reportName: String?
    public var reportReceivedBytes = 0
    public var reportBody: [UInt8] = []

    public init(request: Request, now: Int) {
        self.init(request: request, exchange: Exchange(request: request), now: now)
    }

    init(request: Request, exchange: Exchange, now: Int) {
        at = now
        self.exchange = exchange
        certificateSerial = request.certificateSerial
        certificateSHA256 = request.identity?.fingerprint
    }

    public subscript<Value>(dynamicMember field: WritableKeyPath<Exchange, Value>) -> Value {
        get { exchange[keyPath: field] }
        set { exchange[keyPath: field] = newValue }
    }

    /// The firmware the User-Agent names.
    public var firmware: String? { exchange.userAgent.map(UserAgent.init)?.firmware }

    /// Microseconds the answer took; 0 when not measured.
    public var microseconds: Int {
        get { exchange.microseconds ?? 0 }
        set { exchange.microseconds = newValue }
    }

    /// About what this record holds in memory, in bytes (its report body and texts): what bounds a FastCGI
    /// responder's queue while the journal is locked.
    public var approximateBytes: Int {
        256 + reportBody.count + (exchange.userAgent?.utf8.count ?? 0) + (exchange.path?.utf8.count ?? 0)
            + (exchange.serial?.utf8.count ?? 0) + (exchange.model?.utf8.count ?? 0)
            + (exchange.remoteAddress?.utf8.count ?? 0) + exchange.reason.utf8.count
    }

    /// True when the device's `seen` row is to be updated: it was answered its profile (a report POST is not a
    /// fetch).
    public var seen: Bool { trusted && exchange.status == 200 && exchange.mac != nil && exchange.method != "POST" }
}
