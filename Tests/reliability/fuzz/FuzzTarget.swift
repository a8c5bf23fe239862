// libFuzzer target over the serving core: identity (certificate PEM/DER, RFC 2253 subjects, the SSL_CLIENT_S_DN_*
// variables), the request (method, PATH_INFO, User-Agent, lengths), the whole service against a real SQLite file,
// the log line, and the rendering (layering, {{variables}}, XML, gzip, openssl-enc).
//
// Built by Tests/reliability/fuzz/run with swiftc -sanitize=fuzzer,address together with the sources of
// Sources/Provisioning (one module, so internal code is reachable). Input format, chosen so that seeds can be
// written by hand and libFuzzer's mutations keep their shape:
//
//   byte 0 even: a request. The rest, split at NUL, is a list of fields; a field's first byte picks the variable
//       (index into `variables`, modulo its count), the remaining bytes are the value, raw (not UTF-8-checked, as
//       environ hands them to profile-cgi). SSL_CLIENT_VERIFY=SUCCESS and REQUEST_METHOD=GET come after the
//       fuzzed fields, so a fuzzed value of either wins (StringTable answers the first entry).
//   byte 0 odd: a rendering. The rest, split at NUL, is a list of rows: byte 0 of a row is
//       kind (bit 0: setting/variable), rank (bits 1-2: default, model, group, device), ua (bits 3-4); the rest
//       is `name=value`. The last field is also given as the certificate's OU (a {{cert.ou}} source).
//
// What counts as a failure (besides a crash or a sanitizer report): a log line that is not exactly one line of
// printable ASCII, an answer without a status line or with a body of another length than it says, a refused
// request answered 200, a rendered profile that does not start as a flat-profile, a .gz that is no gzip stream,
// a .cfg that is no `Salted__` stream.
#if canImport(Glibc)
import Glibc
#endif

let variables = [
    "REQUEST_METHOD", "PATH_INFO", "HTTP_USER_AGENT", "REMOTE_ADDR", "CONTENT_LENGTH", "SSL_CLIENT_VERIFY",
    "SSL_CLIENT_CERT", "SSL_CLIENT_S_DN", "SSL_CLIENT_S_DN_OU", "SSL_CLIENT_S_DN_L", "SSL_CLIENT_S_DN_ST",
    "SSL_CLIENT_S_DN_CN", "SSL_CLIENT_S_DN_O", "SSL_CLIENT_S_DN_serialNumber", "SSL_CLIENT_S_DN_OU_1",
    "SSL_CLIENT_M_SERIAL", "SSL_CLIENT_S_DN_S", "SSL_CLIENT_S_DN_Email",
]

/// The service, on the database FUZZ_DB names (made by the run script with provctl); never writes a journal.
nonisolated(unsafe) let service: ProfileService = {
    let path = getenv("FUZZ_DB").map { String(cString: $0) } ?? "/nonexistent.db"
    return ProfileService(configuration: Configuration(databasePath: path, recordsJournal: false))
}()

/// FUZZ_SHOW=1: print each request's log line (to look at what the seeds reach).
let showLines = getenv("FUZZ_SHOW") != nil

func fail(_ message: String) -> Never {
    fputs("fuzz invariant broken: \(message)\n", stderr)
    abort()
}

func fields(_ bytes: UnsafeBufferPointer<UInt8>) -> [UnsafeBufferPointer<UInt8>] {
    var result: [UnsafeBufferPointer<UInt8>] = []
    var start = 0
    for index in 0...bytes.count where index == bytes.count || bytes[index] == 0 {
        result.append(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        start = index + 1
    }
    return result
}

func fuzzRequest(_ input: UnsafeBufferPointer<UInt8>) {
    var environment = StringTable()
    for field in fields(input) where !field.isEmpty {
        let name = variables[Int(field[0]) % variables.count]
        var key = name
        key.withUTF8 { key in environment.appendNew(key, UnsafeBufferPointer(rebasing: field[1...])) }
    }
    environment.appendNew("SSL_CLIENT_VERIFY", "SUCCESS")
    environment.appendNew("REQUEST_METHOD", "GET")
    let request = Request(environment: environment)
    var answer = service.respond(to: request, now: 1_700_000_000_000_000)
    answer.finish(microseconds: 123)

    let line = answer.log.lineBytes
    if showLines { FileDescriptor.writeAll(2, line) }
    guard line.last == 0x0a else { fail("log line does not end in a newline") }
    for byte in line.dropLast() where byte < 0x20 || byte > 0x7e {
        fail("log line holds byte \(byte): \(String(decoding: line, as: UTF8.self))")
    }
    if request.refusal != nil && answer.response.status == 200 { fail("a refused request was answered 200") }

    let bytes = answer.response.serialized()
    let head = Array("Content-Type: ".utf8), status = Array("Status: ".utf8)
    guard bytes.starts(with: head) || bytes.starts(with: status) else { fail("answer starts with neither Status nor Content-Type") }
    // The head ends at the first blank line; Content-Length must be the body's length (HEAD: no body).
    let separator: [UInt8] = [0x0d, 0x0a, 0x0d, 0x0a]
    guard let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
        fail("answer has no blank line after its head")
    }
    let headText = String(decoding: bytes[..<end], as: UTF8.self)
    let body = bytes.count - end - 4
    if let length = headText.split(separator: "\r\n").first(where: { $0.hasPrefix("Content-Length: ") }) {
        let declared = Int(length.dropFirst("Content-Length: ".count)) ?? -1
        if !request.isHead && declared != body { fail("Content-Length \(declared) for a body of \(body)") }
    }
}

func fuzzRender(_ input: UnsafeBufferPointer<UInt8>) {
    let mac = MACAddress("000e08abcdef")!
    var settings: [Setting] = [], values: [Variable] = []
    let rows = fields(input)
    let scopes: [Scope] = [.all, Scope("model:CP-8841-3PCC")!, Scope("group:sales")!, Scope("device:000e08abcdef")!]
    let accesses: [UserAccess?] = [nil, .na, .ro, .rw]
    for row in rows where row.count > 1 {
        let text = String(decoding: UnsafeBufferPointer(rebasing: row[1...]), as: UTF8.self)
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]), value = parts.count > 1 ? String(parts[1]) : ""
        let scope = scopes[Int(row[0] >> 1) & 3]
        if row[0] & 1 == 0 {
            settings.append(Setting(scope: scope, name: name, value: value, access: accesses[Int(row[0] >> 3) & 3]))
        } else {
            values.append(Variable(scope: scope, name: name, value: value))
        }
    }
    let ou = rows.last.map { String(decoding: $0, as: UTF8.self) } ?? ""
    var certificate = StringTable()
    certificate.appendNew("ou", ou)
    certificate.appendNew("l", "88012BA01234")
    certificate.appendNew("st", "000e08abcdef")
    let identity = ClientIdentity(mac: mac, serial: "88012BA01234", model: "CP-8841-3PCC", fields: certificate, source: .variables)
    let device = Device(mac: mac, serial: "88012BA01234", model: "CP-8841-3PCC", group: "sales", enabled: true, gzip: true,
                        encryption: .aes256cbc(key: ou.isEmpty ? "k" : ou, digest: input.count % 2 == 0 ? .md5 : .sha256))
    let layers = LayerRows(Layers(settings: settings, variables: values), model: device.model, group: device.group, mac: mac)
    let resolved: ResolvedRows
    do {
        resolved = try layers.resolve(device: device, identity: identity)
    } catch {
        return
    }
    let xml = FlatProfile.render(layers, resolved)
    guard xml.starts(with: Array("<flat-profile".utf8)) || xml.starts(with: Array("<?xml".utf8)) else {
        fail("rendered profile starts with \(String(decoding: xml.prefix(40), as: UTF8.self))")
    }
    do {
        let gz = try ProfileEncoding.encode(xml, form: .gz, device: device)
        guard gz.starts(with: [0x1f, 0x8b]) else { fail(".gz is not a gzip stream") }
        let cfg = try ProfileEncoding.encode(xml, form: .cfg, device: device)
        guard cfg.starts(with: Array("Salted__".utf8)) else { fail(".cfg is not an openssl enc stream") }
    } catch {
        fail("encoding failed: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)
    if data[0] & 1 == 0 { fuzzRequest(input) } else { fuzzRender(input) }
    return 0
}
