import Foundation
import HTTPTypes
import OpenAPIRuntime

/// The answer's JSON as the engine made it, sent as it is. `Typed.decode` checks the engine's JSON against the
/// document's type, but the generated types encode back without their null members (`encodeIfPresent`) and
/// without members the document does not list: `next_after: null`, `"serial": null` would vanish from the wire,
/// and the API would no longer print what `provctl --json` prints. So `Typed.decode` keeps the bytes it
/// checked (`Typed.verbatim`), and this middleware answers them in place of the generated encoding (2xx only).
struct VerbatimBodyMiddleware: ServerMiddleware {
    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        let kept = VerbatimBody()
        var (response, body) = try await Typed.$verbatim.withValue(kept) { try await next(request, body, metadata) }
        guard response.status.kind == .successful, let bytes = kept.bytes,
              response.headerFields[.contentType]?.hasPrefix("application/json") == true else { return (response, body) }
        response.headerFields[.contentLength] = nil
        body = HTTPBody(bytes)
        return (response, body)
    }
}

/// The JSON last checked by `Typed.decode` in this request.
final class VerbatimBody: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [UInt8]?

    var bytes: [UInt8]? {
        get { lock.withLock { kept } }
        set { lock.withLock { kept = newValue } }
    }
}
