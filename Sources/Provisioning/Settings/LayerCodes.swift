/// The named codes of the merge's byte form (`LayerRows`, `ResolvedRows`): a row's kind, its scope's rank and its
/// `ua` access. The tables keep their raw values (one `[Int]`, no generic element type on the CGI's path); every
/// read and write goes through these names.

extension Scope {
    /// The merge order of the four scopes: default, then model, group, device (the later wins).
    public enum Rank: Int, Comparable, CaseIterable, Sendable {
        case all = 0
        case model = 1
        case group = 2
        case device = 3

        public static func < (lhs: Rank, rhs: Rank) -> Bool { lhs.rawValue < rhs.rawValue }

        /// The `scope` column's spelling.
        public var storedName: String {
            switch self {
            case .all: "default"
            case .model: "model"
            case .group: "group"
            case .device: "device"
            }
        }
    }
}

/// What a row of `LayerRows` holds: a setting (a parameter of the profile) or a variable (`{{name}}`).
enum RowKind: Int {
    case setting = 0
    case variable = 1
}

/// A row's `ua` in the tables: `none` when the row has no `ua` of its own (it inherits the scope below's).
enum AccessCode: Int {
    case none = -1
    case na = 0
    case ro = 1
    case rw = 2

    init(_ access: UserAccess?) {
        switch access {
        case nil: self = .none
        case .na: self = .na
        case .ro: self = .ro
        case .rw: self = .rw
        }
    }

    var access: UserAccess? {
        switch self {
        case .none: nil
        case .na: .na
        case .ro: .ro
        case .rw: .rw
        }
    }
}
