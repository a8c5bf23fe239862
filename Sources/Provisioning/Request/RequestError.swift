/// What is wrong with the request itself, before anyone is identified. The service answers each with the refusal
/// `Refusing` (Response/Refusal+Rooms.swift) names.
public enum RequestError: Error, Sendable, Equatable {
    /// A profile is asked with GET or HEAD; the method used (its first 16 characters).
    case methodNotServed(String)
    /// The file name ends in something that is no form (`.xml`, `.gz`, `.cfg`); the ending (16 characters).
    case noSuchForm(ending: String)
}
