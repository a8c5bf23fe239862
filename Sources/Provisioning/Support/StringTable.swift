/// A small string-to-string table kept as an array of pairs, for the CGI's request path.
///
/// The CGI lives for one request, so first-use costs dominate: the first `Dictionary<String, _>` makes the Swift
/// runtime instantiate generic metadata and look up `String: Hashable` in the conformance tables, measured at
/// about 300k instructions, a fifth of a request. With a few dozen entries a linear search costs far less.
public struct StringTable: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
    /// The pairs in insertion order; keys are unique.
    public private(set) var entries: [Entry]

    /// One key and its value.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: String
    }

    public init() { entries = [] }

    public init(dictionaryLiteral elements: (String, String)...) {
        entries = []
        entries.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    /// A table holding a dictionary's pairs (for callers that already have one: tests, provctl).
    public init(_ dictionary: [String: String]) {
        entries = dictionary.map { Entry(key: $0.key, value: $0.value) }
    }

    /// The value for `key`; setting `nil` removes it, setting a value replaces the old one in place.
    public subscript(key: String) -> String? {
        get {
            for entry in entries where entry.key == key { return entry.value }
            return nil
        }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    /// Adds a pair without looking for an existing key: the caller knows the key is new.
    public mutating func appendNew(_ key: String, _ value: String) { entries.append(Entry(key: key, value: value)) }

    public var count: Int { entries.count }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    /// The pairs as a dictionary, for output and tests.
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        for entry in entries { result[entry.key] = entry.value }
        return result
    }

    public static func == (lhs: StringTable, rhs: StringTable) -> Bool {
        lhs.count == rhs.count && lhs.entries.allSatisfy { rhs[$0.key] == $0.value }
    }
}
