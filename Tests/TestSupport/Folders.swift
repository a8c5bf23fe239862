public import Foundation

/// A temporary folder removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("provisioner-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    public var path: String { url.path }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// A fresh folder under the system's temporary directory, removed by the caller.
public func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "provisioner-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The package root (this file is `Tests/TestSupport/Folders.swift`).
public let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A built product of the package: `$PROFILE_CGI_BIN` / `$PROVCTL_BIN` when set, else the one beside the test
/// bundle (the scratch path in use), else the newest `.build*/{debug,release}/NAME`.
public func builtProduct(_ name: String) -> String {
    let fileManager = FileManager.default
    let variable = name.uppercased().replacingOccurrences(of: "-", with: "_") + "_BIN"
    if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty { return path }
    var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = folder.appendingPathComponent(name).path
        if fileManager.isExecutableFile(atPath: candidate) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    var found: [(String, Date)] = []
    for build in (try? fileManager.contentsOfDirectory(atPath: packageRoot)) ?? [] where build.hasPrefix(".build") {
        for flavour in ["debug", "release"] {
            let candidate = packageRoot + "/" + build + "/" + flavour + "/" + name
            if fileManager.isExecutableFile(atPath: candidate),
               let date = (try? fileManager.attributesOfItem(atPath: candidate))?[.modificationDate] as? Date {
                found.append((candidate, date))
            }
        }
    }
    return found.sorted { $0.1 > $1.1 }.first?.0 ?? name
}
