import Foundation
import HTTPTypes
import OpenAPIRuntime

/// The generated types encode an optional member with `encodeIfPresent`, so a member the document marks required
/// and nullable (`type: [string, 'null']`), null in the engine's JSON as provctl prints it, would leave the API
/// missing: an answer that breaks the document (Schemathesis finds it; apple/swift-openapi-generator issue 934).
/// `Typed.decode` keeps each answer it checked against the document for the request; when the body the generated
/// code encoded decodes to the same value as one of them, that answer's own text goes out instead: the same
/// values, the nulls kept, the members in provctl's order. Anything else is left as the generated code made it.
final class CheckedAnswers: @unchecked Sendable {
    struct Answer {
        var text: [UInt8]
        var value: AnyHashable
        var decode: @Sendable ([UInt8]) -> AnyHashable?
    }

    @TaskLocal static var current: CheckedAnswers?

    private let lock = NSLock()
    private var answers: [Answer] = []

    func add(_ answer: Answer) {
        lock.lock()
        answers.append(answer)
        lock.unlock()
    }

    var all: [Answer] {
        lock.lock()
        defer { lock.unlock() }
        return answers
    }
}

struct NullMembersMiddleware: ServerMiddleware {
    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        let answers = CheckedAnswers()
        let (response, sent) = try await CheckedAnswers.$current.withValue(answers) {
            try await next(request, body, metadata)
        }
        let candidates = answers.all
        guard let sent, !candidates.isEmpty, response.headerFields[.contentType]?.hasPrefix("application/json") == true,
              case .known(let length) = sent.length, length <= AdminDaemon.bodyLimit else {
            return (response, sent)
        }
        let bytes = try await [UInt8](collecting: sent, upTo: Int(length))
        for candidate in candidates.reversed() where candidate.decode(bytes) == candidate.value {
            var restored = response
            restored.headerFields[.contentLength] = nil
            return (restored, HTTPBody(candidate.text))
        }
        return (response, HTTPBody(bytes))
    }
}
