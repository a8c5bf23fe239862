import Foundation
import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

/// A change of the fleet operations (adopt, revert) as the API answers it: what provctl --json prints for it,
/// plus `result` (`changed` or `dry_run`), the discriminator of the document's ChangeOutcome.
enum FleetChange {
    enum Answer: Sendable {
        case changed(JSON)
        case dryRun(JSON)

        var json: JSON {
            switch self {
            case .changed(let json), .dryRun(let json): json
            }
        }
    }

    /// Runs `body` with `session`'s warnings collected into the answer. A written change answers provctl's
    /// ChangeResult (its warnings included); a dry run its report, unless a device would no longer render:
    /// then the dry run fails as provctl's does (code `breaks`, 422, the devices in `problems`).
    static func run(_ session: AdminSession, _ body: (AdminSession) throws -> Edited<EditSummary>) throws -> Answer {
        let warnings = Warnings()
        let edited = try body(EditedAnswer.collecting(session, into: warnings))
        let json = try EditedAnswer.json(edited, warnings: warnings.all)
        if case .dryRun = edited { return .dryRun(json) }
        return .changed(json)
    }
}

/// Page sizes of the listings.
enum FleetPaging {
    /// `limit` as the document bounds it: 1 to 1000, 100 when absent.
    static func limit(_ limit: Int?) throws -> Int {
        let limit = limit ?? 100
        guard (1...1000).contains(limit) else {
            throw APIProblem.badRequest("limit: \(limit) is out of range (1 to 1000)", field: "limit", rule: "page_size")
        }
        return limit
    }
}

/// The export's media type: JSON rows when the client prefers application/json, else CSV (what provctl export
/// writes by default).
enum FleetExport {
    enum Body: Sendable {
        case csv(String)
        case json(JSON)
    }

    static func prefersJSON(_ accept: [AcceptHeaderContentType<Operations.ExportDevices.AcceptableContentType>]) -> Bool {
        func quality(_ type: Operations.ExportDevices.AcceptableContentType) -> Double {
            accept.filter { $0.contentType == type }.map(\.quality.doubleValue).max() ?? 0
        }
        return quality(.json) > quality(.csv)
    }
}

/// `provctl check`'s default web user: the user whose access to the database and journal is checked.
enum FleetCheck {
    static let webUser = "www-data"
}

/// A backup as the API sends it: the database copied by `VACUUM INTO` (as provctl backup copies it) into a
/// private temporary folder, the file unlinked at once (the open handle keeps it), its bytes streamed in 64 KiB
/// chunks, so neither the daemon's memory nor the disk keeps it past the download.
struct FleetBackup: Sendable {
    let body: HTTPBody

    static func copy(_ editor: ConfigurationEditor) throws -> FleetBackup {
        var template = Array((NSTemporaryDirectory() + "/provisioner-backup-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw AdminError(.runtime, "backup: no temporary folder (errno \(errno))")
        }
        let folder = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/backup.db"
        // Created empty and 0600 first: VACUUM INTO takes an empty file, and the copy holds every key.
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw AdminError(.runtime, "backup: cannot create \(path)")
        }
        try BackupEngine.vacuum(editor.database, schema: "main", into: path)
        guard let handle = FileHandle(forReadingAtPath: path) else { throw AdminError(.runtime, "backup: cannot read \(path)") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        let chunks = AsyncThrowingStream<HTTPBody.ByteChunk, any Error>(unfolding: {
            let data = try handle.read(upToCount: 1 << 16) ?? Data()
            if data.isEmpty {
                try? handle.close()
                return nil
            }
            return ArraySlice(data)
        })
        return FleetBackup(body: HTTPBody(chunks, length: size.map { .known(Int64($0)) } ?? .unknown))
    }
}
