import Foundation
import Provisioning
import ProvisioningAdmin

/// Value completion: the shell asks provctl (`provctl ---completion ...`), which reads the database named by the
/// command line's --db, else $PROVISIONER_DB, else the default path. Nothing is printed on errors.
enum Completion {
    static func store(_ words: [String]) -> DeviceStore? {
        var path = Configuration(environment: ProcessInfo.processInfo.environment).databasePath
        if let index = words.firstIndex(of: "--db"), index + 1 < words.count { path = words[index + 1] }
        for word in words where word.hasPrefix("--db=") { path = String(word.dropFirst(5)) }
        guard FileManager.default.isReadableFile(atPath: path) else { return nil }
        return try? DeviceStore(path: path, mode: .readOnly)
    }

    @Sendable static func macs(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        (store(words).flatMap { try? $0.macs(startingWith: prefix, limit: 2000) }) ?? []
    }

    @Sendable static func groups(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        (store(words).flatMap { try? $0.scopeNames(kind: "group") } ?? []).map(\.name).filter { $0.hasPrefix(prefix) }
    }

    @Sendable static func models(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        (store(words).flatMap { try? $0.scopeNames(kind: "model") } ?? []).map(\.name).filter { $0.hasPrefix(prefix) }
    }

    @Sendable static func scopes(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        if prefix.hasPrefix("device:") {
            return macs(words, index, String(prefix.dropFirst(7))).map { "device:" + $0 }
        }
        var out = ["default"]
        out += groups(words, index, "").map { "group:" + $0 }
        out += models(words, index, "").map { "model:" + $0 }
        out.append("device:")
        return out.filter { $0.hasPrefix(prefix) }
    }

    @Sendable static func parameters(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        ParameterCatalogue.patterns.map { $0.replacingOccurrences(of: "#", with: "1") }.filter { $0.hasPrefix(prefix) }
    }

    /// `NAME=` for set: a parameter name followed by `=`.
    @Sendable static func assignments(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        prefix.contains("=") ? [] : parameters(words, index, prefix).map { $0 + "=" }
    }
}
