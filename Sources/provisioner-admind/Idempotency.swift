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

/// The generated code writes a header value as an RFC 6570 simple-style URI component, which percent-encodes
/// `/` and `"`: `Location: %2Fapi%2Fv1%2Fjobs%2F1`, `ETag: %22...%22`. This puts `Location` and `ETag` back as
/// RFC 9110 spells them (a path, a quoted string). Outermost but for `IdempotencyMiddleware`, so a kept answer is
/// kept decoded.
struct ResponseHeaderMiddleware: ServerMiddleware {
    static let decoded: [HTTPField.Name] = [.location, .eTag]

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        var (response, responseBody) = try await next(request, body, metadata)
        for name in Self.decoded {
            if let value = response.headerFields[name], value.contains("%"), let plain = value.removingPercentEncoding {
                response.headerFields[name] = plain
            }
        }
        return (response, responseBody)
    }
}

/// The engine's JSON for the answer being built. The generated types check an answer against the document
/// (`Typed.decode`), but encode an absent optional as nothing: a required member that is null (`next_after: null`,
/// `error: null`) would be left out, and the answer would neither fit the document nor read as provctl --json
/// prints it. A handler that answers with `Typed.answer` leaves the engine's JSON here; `EngineAnswerMiddleware`
/// sends it as the body of the 2xx JSON answer instead of the generated encoding.
final class EngineAnswer: @unchecked Sendable {
    @TaskLocal static var current: EngineAnswer?

    private let lock = NSLock()
    private var value: JSON?

    var json: JSON? { lock.withLock { value } }
    func set(_ json: JSON) { lock.withLock { value = json } }
}

extension Typed {
    /// `decode`, and the JSON kept as the answer's body (`EngineAnswer`).
    static func answer<T: Decodable>(_ type: T.Type, _ json: JSON) throws -> T {
        let value = try decode(type, json)
        EngineAnswer.current?.set(json)
        return value
    }
}

struct EngineAnswerMiddleware: ServerMiddleware {
    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        let box = EngineAnswer()
        var (response, responseBody) = try await EngineAnswer.$current.withValue(box) {
            try await next(request, body, metadata)
        }
        guard let json = box.json, (200..<300).contains(response.status.code),
              response.headerFields[.contentType]?.hasPrefix("application/json") == true else {
            return (response, responseBody)
        }
        let bytes = json.bytes
        if response.headerFields[.contentLength] != nil { response.headerFields[.contentLength] = String(bytes.count) }
        responseBody = HTTPBody(bytes)
        return (response, responseBody)
    }
}
