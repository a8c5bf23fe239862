#if canImport(Glibc)
import func Glibc.memcmp
#endif

/// A small string-to-string table for the CGI's request path: every key and value back to back in one byte
/// arena, three integers per entry, found by a linear search.
///
/// The CGI lives for one request, so first-use costs dominate: the first `Dictionary<String, _>` makes the Swift
/// runtime instantiate generic metadata and look up `String: Hashable` in the conformance tables (measured: about
/// 300k instructions, a fifth of a request), and even an array of a struct of two strings is a generic type the
/// runtime instantiates through its demangler (about 35k instructions). Bytes and integers cost neither, and the
/// CGI's environment goes in without a String per variable.
public struct StringTable: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
    var bytes: [UInt8] = []
    /// Per entry: key start, value start (= key end), value end. A removed entry's key start is -1.
    var bounds: [Int] = []

    /// One key and its value.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: String
    }

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (key, value) in elements { self[key] = value }
    }

    /// A table holding a dictionary's pairs (for callers that already have one: tests, provctl).
    public init(_ dictionary: [String: String]) {
        for (key, value) in dictionary { appendNew(key, value) }
    }

    /// The index in `bounds` of the entry for `key`.
    func slot(_ key: String) -> Int? {
        var key = key
        return key.withUTF8 { wanted in
            bytes.withUnsafeBufferPointer { base in
                var slot = 0
                while slot < bounds.count {
                    let start = bounds[slot], middle = bounds[slot + 1]
                    if start >= 0 && middle - start == wanted.count
                        && (wanted.isEmpty || memcmp(base.baseAddress! + start, wanted.baseAddress!, wanted.count) == 0) {
                        return slot
                    }
                    slot += 3
                }
                return nil
            }
        }
    }

    func string(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// The value for `key`. Setting `nil` removes the entry; setting a value replaces the old one, and the entry
    /// then comes last in iteration.
    public subscript(key: String) -> String? {
        get {
            guard let slot = slot(key) else { return nil }
            return string(bounds[slot + 1]..<bounds[slot + 2])
        }
        set {
            if let slot = slot(key) { bounds[slot] = -1 }
            if let newValue { appendNew(key, newValue) }
        }
    }

    /// Adds a pair without looking for an existing key: the caller knows the key is new.
    public mutating func appendNew(_ key: String, _ value: String) {
        var key = key, value = value
        key.withUTF8 { key in value.withUTF8 { value in appendNew(key, value) } }
    }

    /// `appendNew` from bytes (the CGI's environment, straight from `environ`).
    public mutating func appendNew(_ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) {
        bounds.append(bytes.count)
        bytes.append(contentsOf: key)
        bounds.append(bytes.count)
        bytes.append(contentsOf: value)
        bounds.append(bytes.count)
    }

    public var count: Int {
        var count = 0
        var slot = 0
        while slot < bounds.count {
            if bounds[slot] >= 0 { count += 1 }
            slot += 3
        }
        return count
    }

    public func makeIterator() -> Iterator { Iterator(table: self) }

    /// The entries in the order they were added.
    public struct Iterator: IteratorProtocol {
        let table: StringTable
        var slot = 0

        public mutating func next() -> Entry? {
            while slot < table.bounds.count {
                let start = table.bounds[slot], middle = table.bounds[slot + 1], end = table.bounds[slot + 2]
                slot += 3
                if start >= 0 { return Entry(key: table.string(start..<middle), value: table.string(middle..<end)) }
            }
            return nil
        }
    }

    /// The entries, for callers that want an array (provctl, tests).
    public var entries: [Entry] { Array(self) }

    /// The pairs as a dictionary, for output and tests.
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        for entry in self { result[entry.key] = entry.value }
        return result
    }

    public static func == (lhs: StringTable, rhs: StringTable) -> Bool {
        lhs.count == rhs.count && lhs.allSatisfy { rhs[$0.key] == $0.value }
    }
}
