import Foundation
import HTTPTypes
import NIOPosix
import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

/// `Idempotency-Key` on a POST: the first answer (status, headers, body) is kept for 24 hours in `jobs.db` with a
/// hash of the method, the path (query included) and the body, under the caller's user and the key. A retry with
/// the same key and request gets that answer again (header `Idempotent-Replayed: true`) and runs nothing; the same
/// key with another request is 422 (rule `idempotency_key_reused`); a retry while the first is still being answered
/// is 409 (`idempotency_key_in_flight`). Answers of 5xx and 409 are not kept (a retry may do better): the key is
/// let go and the next request with it runs.
struct IdempotencyMiddleware: ServerMiddleware {
    let jobs: JobStore
    /// The largest answer kept (a larger one is answered and its key let go).
    var answerLimit = 16 << 20

    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        guard request.method == .post, let key = request.headerFields[Self.header] else {
            return try await next(request, body, metadata)
        }
        guard (8...128).contains(key.count), key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return APIProblem.badRequest("Idempotency-Key: 8 to 128 visible ASCII characters", field: "Idempotency-Key",
                                         rule: "idempotency_key_format").response
        }
        let caller = try Caller.required()
        var bytes: [UInt8] = []
        if let body { bytes = try await [UInt8](collecting: body, upTo: AdminDaemon.bodyLimit) }
        let hash = Digest.sha256Hex(Array("\(request.method.rawValue) \(request.path ?? "")\n".utf8) + bytes)
        let stored = caller.user + "\n" + key
        let jobs = jobs
        let claim = try await NIOThreadPool.singleton.runIfActive {
            try jobs.claim(idempotencyKey: stored, requestHash: hash, now: Clock.unixSeconds())
        }
        switch claim {
        case .reused:
            return APIProblem(status: 422, detail: "Idempotency-Key was used for another request within 24 hours; use a new key",
                              code: "usage", field: "Idempotency-Key", rule: "idempotency_key_reused").response
        case .inFlight:
            var problem = APIProblem(status: 409, detail: "a request with this Idempotency-Key is still being answered; retry shortly",
                                     code: "conflict", field: "Idempotency-Key", rule: "idempotency_key_in_flight")
            problem.headers.append((.retryAfter, "1"))
            return problem.response
        case .replay(let answer):
            return Self.response(answer)
        case .first:
            break
        }
        let response: HTTPResponse
        let answer: [UInt8]
        do {
            let (head, responseBody) = try await next(request, HTTPBody(bytes), metadata)
            response = head
            if let responseBody {
                answer = try await [UInt8](collecting: responseBody, upTo: answerLimit)
            } else {
                answer = []
            }
        } catch {
            _ = try? await NIOThreadPool.singleton.runIfActive { try jobs.release(idempotencyKey: stored) }
            throw error
        }
        let status = response.status.code
        try await NIOThreadPool.singleton.runIfActive {
            if status >= 500 || status == 409 {
                try jobs.release(idempotencyKey: stored)
            } else {
                let headers = response.headerFields.map { "\($0.name.rawName): \($0.value)" }
                try jobs.keep(idempotencyKey: stored, answer: IdempotentAnswer(status: status, headers: headers, body: answer))
            }
        }
        return (response, HTTPBody(answer))
    }

    static func response(_ answer: IdempotentAnswer) -> (HTTPResponse, HTTPBody) {
        var fields = HTTPFields()
        for line in answer.headers {
            guard let colon = line.firstIndex(of: ":"), let name = HTTPField.Name(String(line[..<colon])) else { continue }
            fields.append(HTTPField(name: name, value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        fields[replayed] = "true"
        return (HTTPResponse(status: .init(code: answer.status), headerFields: fields), HTTPBody(answer.body))
    }
}

