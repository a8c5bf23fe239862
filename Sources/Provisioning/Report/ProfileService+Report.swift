/// What the phone reports (`Report_Rule`): the service accepts a POST on `…/report/<name>` from a phone
/// identified as for a GET (verified certificate, known enabled device, serial and product matching, the name's
/// MAC its own), undoes the encryption and gzip the phone applied, and hands the XML to the journal as the
/// device's latest report. The phone gets `200 report stored`; the fetch row says `form=report`.
extension ProfileService {
    /// Answers a report POST (`request.report` is set).
    func respondToReport(_ request: Request, now: Int) -> Answer {
        var log = RequestLog(request: request)
        var bookkeeping = Bookkeeping(request: request, now: now)
        let response: CGIResponse
        do {
            let (encoding, plaintext) = try acceptReport(request)
            response = CGIResponse(status: 200, contentType: "text/plain; charset=utf-8", body: Array("report stored\n".utf8))
            log.status = 200
            log.reason = "ok"
            bookkeeping.status = 200
            bookkeeping.reason = "ok"
            bookkeeping.trusted = true  // a verified certificate of the device, checked as for a GET
            bookkeeping.reportEncoding = encoding
            bookkeeping.reportName = request.report?.fileName
            bookkeeping.reportReceivedBytes = request.body.count
            bookkeeping.reportBody = plaintext
        } catch {
            log.status = error.status
            log.reason = error.reason
            log.detail = error.detail
            response = CGIResponse(refusal: error)
            bookkeeping.status = error.status
            bookkeeping.reason = error.reason
        }
        log.form = "report"
        log.bytes = response.body.count
        bookkeeping.form = "report"
        bookkeeping.bytes = response.body.count
        return Answer(response: response, log: log, bookkeeping: bookkeeping)
    }

    /// The report's encoding (`xml`, `gz`, `cfg`, `cfg+gz`) and its XML, or the refusal.
    func acceptReport(_ request: Request) throws(Refusal) -> (String, [UInt8]) {
        if let refusal = request.refusal { throw refusal }
        guard let report = request.report, let identity = request.identity else {
            throw .serverError("report read without outcome")
        }
        if let named = report.namedMAC, named != identity.mac {
            throw Refusal(403, "MAC mismatch", detail: "path names \(named), certificate is \(identity.mac)")
        }
        if request.contentLength > ReportRequest.maximumBytes || request.body.count > ReportRequest.maximumBytes {
            // (A chunked body is kept to one byte past the limit: more than the limit is too large.)
            throw Refusal(413, "report too large", detail: "more than \(ReportRequest.maximumBytes) bytes")
        }
        guard !request.body.isEmpty else { throw Refusal(400, "empty report") }
        let store = try openStoreForReading()
        defer { try? store.database.execute("COMMIT") }
        var placeholder = Bookkeeping(request: request, now: 0)
        let device = try checkedDevice(identity, store: store, bookkeeping: &placeholder)
        return try Self.decodeReport(request.body, device: device)
    }

    /// Undoes what the phone did to its report: `openssl enc -aes-256-cbc` with the device's key (its digest
    /// first, then the other: the phone's openssl may not be the profile's), then gzip. The result must look
    /// like XML.
    public static func decodeReport(_ body: [UInt8], device: Device) throws(Refusal) -> (String, [UInt8]) {
        var bytes = body
        var encoding: [String] = []
        if OpenSSLEnc.isEncrypted(bytes) {
            guard case .aes256cbc(let key, let digest) = device.encryption else {
                throw Refusal(400, "undecryptable report", detail: "encrypted, and the device has no key")
            }
            var plain: [UInt8]? = nil
            for candidate in [digest, digest == .md5 ? KeyDerivationDigest.sha256 : .md5] {
                guard let decrypted = try? OpenSSLEnc.decrypt(bytes, passphrase: key, digest: candidate) else { continue }
                if Gzip.isGzip(decrypted) || looksLikeXML(decrypted) {
                    plain = decrypted
                    break
                }
            }
            guard let plain else { throw Refusal(400, "undecryptable report", detail: "not the device's key") }
            bytes = plain
            encoding.append("cfg")
        }
        if Gzip.isGzip(bytes) {
            do {
                bytes = try Gzip.decompress(bytes, limit: ReportRequest.maximumPlaintextBytes)
            } catch {
                throw Refusal(400, "unreadable report", detail: "gzip: \(error)")
            }
            encoding.append("gz")
        }
        guard looksLikeXML(bytes) else { throw Refusal(400, "unreadable report", detail: "not XML") }
        return (encoding.isEmpty ? "xml" : encoding.joined(separator: "+"), bytes)
    }

    /// True when the first byte other than white space (and a UTF-8 byte order mark) is `<`.
    static func looksLikeXML(_ bytes: [UInt8]) -> Bool {
        var index = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { index = 3 }
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
            index += 1
        }
        return index < bytes.count && bytes[index] == UInt8(ascii: "<")
    }
}

extension OpenSSLEnc {
    /// True when `bytes` start as `openssl enc` output does (`Salted__` and a salt).
    public static func isEncrypted(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 16 && bytes[0..<8].elementsEqual(magic)
    }
}
