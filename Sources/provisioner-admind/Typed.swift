import Foundation
import ProvisioningAdmin

/// The engine answers in `JSON`, the same values `provctl --json` prints; the generated types are what the
/// document says. `typed` turns one into the other through the JSON text, so an answer that does not fit the
/// document fails here (a 500 naming the operation) instead of reaching a client wrong.
enum Typed {
    /// Where `decode` keeps the JSON it checked, for `VerbatimBodyMiddleware` to answer as it is.
    @TaskLocal static var verbatim: VerbatimBody?

    static func decode<T: Decodable>(_ type: T.Type, _ json: JSON) throws -> T {
        do {
            // `format: date-time` members are `Date`s: the engine writes them as RFC 3339 UTC text.
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let bytes = json.bytes
            let value = try decoder.decode(T.self, from: Data(bytes))
            verbatim?.bytes = bytes
            return value
        } catch {
            throw APIProblem(status: 500, detail: "the engine's answer does not fit the document's \(T.self): \(error)",
                             code: "runtime", rule: "answer_matches_document")
        }
    }

    /// A typed request body back to the engine's JSON members (for bodies the engine reads as provctl's options).
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }
}
