import Foundation
import ProvisioningAdmin

/// The engine answers in `JSON`, the same values `provctl --json` prints; the generated types are what the
/// document says. `typed` turns one into the other through the JSON text, so an answer that does not fit the
/// document fails here (a 500 naming the operation) instead of reaching a client wrong.
enum Typed {
    static func decode<T: Decodable>(_ type: T.Type, _ json: JSON) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(json.bytes))
        } catch {
            throw APIProblem(status: 500, detail: "the engine's answer does not fit the document's \(T.self): \(error)",
                             code: "runtime", rule: "answer_matches_document")
        }
    }

    /// The same, for a generated type (they are all Hashable): the answer is also kept for `NullMembersMiddleware`,
    /// which sends its own text when the generated encoding of the value dropped its null members.
    static func decode<T: Decodable & Hashable & Sendable>(_ type: T.Type, _ json: JSON) throws -> T {
        let text = json.bytes
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: Data(text))
        } catch {
            throw APIProblem(status: 500, detail: "the engine's answer does not fit the document's \(T.self): \(error)",
                             code: "runtime", rule: "answer_matches_document")
        }
        CheckedAnswers.current?.add(.init(text: text, value: AnyHashable(value), decode: { bytes in
            (try? JSONDecoder().decode(T.self, from: Data(bytes))).map(AnyHashable.init)
        }))
        return value
    }

    /// A typed request body back to the engine's JSON members (for bodies the engine reads as provctl's options).
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }
}
