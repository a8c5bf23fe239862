public import Provisioning

extension DeviceImport {
    /// What `provctl import` and an import job do with a CSV file: every row checked, then written in one change
    /// (or none: a bad row refuses the whole file unless `skipInvalid`), reaching the imported devices. The written
    /// summary is what `provctl import --json` prints; `skipped` lists the bad rows left out (with `skipInvalid`).
    public struct Run {
        public var edited: Edited<EditSummary>
        public var skipped: [AdminError.Problem]
    }

    public static func run(_ parsed: (rows: [Row], problems: [AdminError.Problem]), skipInvalid: Bool, file: String,
                           store: ConfigurationEditor, session: AdminSession, mode: ChangeMode,
                           progress: ((Int, Int) -> Void)? = nil, finished: (() -> Void)? = nil) throws -> Run {
        var (rows, problems) = parsed
        // A large file touches many pages in one transaction: keep them in memory rather than spilling to the WAL
        // before the commit (128 MiB at most, for this connection only).
        try prepareForBulkWrites(store)
        try session.warnIfNew("model", Set(rows.compactMap { $0.model ?? nil }), in: store)
        try session.warnIfNew("group", Set(rows.compactMap { $0.group ?? nil }), in: store)
        let secretNames = try secretVariableNames(store)
        var counts = Counts()
        let macs = Set(rows.map(\.mac))
        var skipped: [AdminError.Problem] = []
        let outcome = try ChangeEngine(store: store, session: session, mode: mode).run(reach: { .some(macs) }) { audit in
            counts = try apply(rows, to: store, audit: audit, secretNames: secretNames, problems: &problems, progress: progress)
            finished?()
            if !problems.isEmpty && !skipInvalid { throw refusal(problems, file: file) }
            skipped = problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) }
        }
        rows.removeAll()
        switch outcome {
        case .dryRun(let report):
            return Run(edited: .dryRun(report), skipped: skipped)
        case .written(let ids, let changeSet):
            var message = "imported \(counts.added + counts.changed + counts.unchanged) row(s): \(counts.added) added, "
                + "\(counts.changed) changed, \(counts.unchanged) unchanged"
            if !skipped.isEmpty {
                message += "; skipped \(Set(skipped.compactMap(\.line)).count) bad row(s):\n"
                    + skipped.map { "  " + $0.text }.joined(separator: "\n")
            }
            let summary = EditSummary(action: "import", message: message, count: counts.added + counts.changed, fields: [
                ("added", .int(counts.added)), ("changed", .int(counts.changed)), ("unchanged", .int(counts.unchanged)),
                ("skipped", .array(skipped.map(\.json))), ("history_entries", .int(ids.count)),
            ], history: ids, changeSet: changeSet)
            return Run(edited: .written(summary), skipped: skipped)
        }
    }

    /// The refusal of a file with bad rows: nothing written.
    public static func refusal(_ problems: [AdminError.Problem], file: String) -> AdminError {
        AdminError(.refused, "refused: \(Set(problems.compactMap(\.line)).count) bad row(s) in \(file); nothing written "
                   + "(--skip-invalid imports the good rows)", rule: "every row must pass its column's rule",
                   problems: problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
    }
}
