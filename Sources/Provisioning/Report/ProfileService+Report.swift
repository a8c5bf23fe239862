/// What the phone reports (`Report_Rule`): the service accepts a POST on `…/report/<name>` from a phone
/// identified as for a GET (verified certificate, known enabled device, serial and product matching, the name's
/// MAC its own), undoes the encryption and gzip the phone applied, and hands the XML to the journal as the
/// device's latest report. The phone gets `200 report stored`; the fetch row says `form=report`.
extension ProfileService {
    /// Answers a report POST.
    func respondToReport(_ request: Request, _ report: ReportRequest) -> (CGIResponse, Outcome) {
        var outcome = Outcome()
        outcome.form = "report"
        outcome.logsForm = true
        do {
            let (encoding, plaintext) = try acceptReport(request, report)
            outcome.status = 200
            outcome.reason = "ok"
            outcome.trusted = true  // a verified certificate of the device, checked as for a GET
            outcome.reportEncoding = encoding
            outcome.reportName = report.fileName
            outcome.reportReceivedBytes = request.body.count
            outcome.reportBody = plaintext
            return (CGIResponse(status: 200, contentType: "text/plain; charset=utf-8", body: Array("report stored\n".utf8)), outcome)
        } catch {
            let refusal = error.refusal
            outcome.refused(refusal)
            return (CGIResponse(refusal: refusal), outcome)
        }
    }

    /// The report's encoding (`xml`, `gz`, `cfg`, `cfg+gz`) and its XML, or the refusal.
    func acceptReport(_ request: Request, _ report: ReportRequest) throws(ServingError) -> (String, [UInt8]) {
        guard let identity = request.identity else { throw .identity(request.certificateRefusal ?? .notVerified(nil)) }
        if let named = report.namedMAC, named != identity.mac {
            throw .macMismatch(named: named, caller: identity.mac, proof: "certificate")
        }
        if request.contentLength > ReportRequest.maximumBytes || request.body.count > ReportRequest.maximumBytes {
            // (A chunked body is kept to one byte past the limit: more than the limit is too large.)
            throw .report(.tooLarge(limit: ReportRequest.maximumBytes))
        }
        guard !request.body.isEmpty else { throw .report(.empty) }
        let store = try openStoreForReading()
        defer { try? store.database.execute("COMMIT") }
        guard let device = try checkedDevice(identity, store: store) else { throw .unknownDevice }
        do {
            return try Self.decodeReport(request.body, device: device)
        } catch {
            throw .report(error)
        }
    }

    /// Undoes what the phone did to its report: `openssl enc -aes-256-cbc` with the device's key (its digest
    /// first, then the other: the phone's openssl may not be the profile's), then gzip. The result must look
    /// like XML.
    public static func decodeReport(_ body: [UInt8], device: Device) throws(ReportError) -> (String, [UInt8]) {
        var bytes = body
        var encoding: [String] = []
        if OpenSSLEnc.isEncrypted(bytes) {
            guard case .aes256cbc(let key, let digest) = device.encryption else {
                throw .encryptedWithoutKey
            }
            var plain: [UInt8]? = nil
            for candidate in [digest, digest == .md5 ? KeyDerivationDigest.sha256 : .md5] {
                guard let decrypted = try? OpenSSLEnc.decrypt(bytes, passphrase: key, digest: candidate) else { continue }
                if Gzip.isGzip(decrypted) || looksLikeXML(decrypted) {
                    plain = decrypted
                    break
                }
            }
            guard let plain else { throw .notTheDevicesKey }
            bytes = plain
            encoding.append("cfg")
        }
        if Gzip.isGzip(bytes) {
            do {
                bytes = try Gzip.decompress(bytes, limit: ReportRequest.maximumPlaintextBytes)
            } catch {
                throw .badGzip("\(error)")
            }
            encoding.append("gz")
        }
        guard looksLikeXML(bytes) else { throw .notXML }
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
