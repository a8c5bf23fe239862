/// A unified diff (`diff -u` format, three lines of context) of two lists of lines.
public enum UnifiedDiff {
    public enum Edit: Equatable {
        case same(String)
        case removed(String)
        case added(String)
    }

    /// The diff text, empty when the lines are equal.
    public static func render(old: [String], new: [String], oldName: String, newName: String, context: Int = 3) -> String {
        let edits = self.edits(old, new)
        guard edits.contains(where: { if case .same = $0 { false } else { true } }) else { return "" }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        // Positions of each edit in the old and new files.
        var oldLine = 0, newLine = 0
        var positions: [(Int, Int)] = []
        for edit in edits {
            positions.append((oldLine, newLine))
            switch edit {
            case .same: oldLine += 1; newLine += 1
            case .removed: oldLine += 1
            case .added: newLine += 1
            }
        }
        let changes = edits.indices.filter { if case .same = edits[$0] { false } else { true } }
        var index = 0
        while index < changes.count {
            var start = max(0, changes[index] - context)
            var end = min(edits.count - 1, changes[index] + context)
            index += 1
            while index < changes.count && changes[index] - context <= end + 1 {
                end = min(edits.count - 1, changes[index] + context)
                index += 1
            }
            start = max(0, start)
            let hunk = edits[start...end]
            let oldCount = hunk.filter { if case .added = $0 { false } else { true } }.count
            let newCount = hunk.filter { if case .removed = $0 { false } else { true } }.count
            let oldStart = oldCount == 0 ? positions[start].0 : positions[start].0 + 1
            let newStart = newCount == 0 ? positions[start].1 : positions[start].1 + 1
            out += "@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@\n"
            for edit in hunk {
                switch edit {
                case .same(let line): out += " " + line + "\n"
                case .removed(let line): out += "-" + line + "\n"
                case .added(let line): out += "+" + line + "\n"
                }
            }
        }
        return out
    }

    /// The shortest edit script by longest common subsequence, after trimming the common prefix and suffix.
    public static func edits(_ old: [String], _ new: [String]) -> [Edit] {
        var prefix = 0
        while prefix < old.count && prefix < new.count && old[prefix] == new[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < old.count - prefix && suffix < new.count - prefix
            && old[old.count - 1 - suffix] == new[new.count - 1 - suffix] { suffix += 1 }
        let a = Array(old[prefix..<(old.count - suffix)])
        let b = Array(new[prefix..<(new.count - suffix)])
        var middle: [Edit] = []
        if a.isEmpty || b.isEmpty || a.count * b.count > 4_000_000 {
            middle = a.map(Edit.removed) + b.map(Edit.added)
        } else {
            // lengths[i][j]: LCS length of a[i...] and b[j...].
            let width = b.count + 1
            var lengths = [Int32](repeating: 0, count: (a.count + 1) * width)
            for i in stride(from: a.count - 1, through: 0, by: -1) {
                for j in stride(from: b.count - 1, through: 0, by: -1) {
                    lengths[i * width + j] = a[i] == b[j]
                        ? lengths[(i + 1) * width + j + 1] + 1
                        : max(lengths[(i + 1) * width + j], lengths[i * width + j + 1])
                }
            }
            var i = 0, j = 0
            while i < a.count && j < b.count {
                if a[i] == b[j] {
                    middle.append(.same(a[i])); i += 1; j += 1
                } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
                    middle.append(.removed(a[i])); i += 1
                } else {
                    middle.append(.added(b[j])); j += 1
                }
            }
            while i < a.count { middle.append(.removed(a[i])); i += 1 }
            while j < b.count { middle.append(.added(b[j])); j += 1 }
        }
        return old[..<prefix].map(Edit.same) + middle + old[(old.count - suffix)...].map(Edit.same)
    }
}
