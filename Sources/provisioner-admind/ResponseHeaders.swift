import Foundation
import HTTPTypes
import Hummingbird

/// Undoes the percent-encoding the generated server puts on the header values the document declares (ETag,
/// Location): swift-openapi-runtime writes every header parameter as a URI component, so `"3f2a..."` leaves as
/// `%223f2a...%22` and `/api/v1/devices/000e08abcdef` as `%2Fapi%2Fv1%2F...` (apple/swift-openapi-generator
/// issues 827 and 857, open). An ETag is a quoted hex string and a Location a path of this API, so neither ever
/// holds a `%` of its own: decoding them gives back exactly what the handler set.
struct ResponseHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    static var names: [HTTPField.Name] { [.eTag, .location] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for name in Self.names {
            if let value = response.headers[name], value.contains("%"), let decoded = value.removingPercentEncoding {
                response.headers[name] = decoded
            }
        }
        return response
    }
}
