public import Provisioning

/// `provctl init`'s result: whether the database was created, upgraded, or already at this version's schema.
public enum DatabaseInit {
    /// The summary for the database at `path`, opened (created or migrated) as `store`; `existed`: whether the
    /// file was there before it was opened.
    public static func summary(path: String, existed: Bool, store: ConfigurationEditor) -> EditSummary {
        let from = store.versionAtOpen
        let to = ConfigurationStore.schemaVersion
        let created = !existed || from == 0
        let message: String
        if created {
            message = "created the database \(path) (schema version \(to))"
        } else if from == to {
            message = "\(path): schema version \(to), up to date"
        } else {
            message = "\(path): upgraded the schema from version \(from) to \(to)"
        }
        return EditSummary(action: "init", message: message, count: from == to ? 0 : 1,
                           fields: [("path", .string(path)), ("created", .bool(created)), ("from_version", .int(from)), ("version", .int(to))])
    }

    /// Writes the expected profile hash of every device whose row is missing or of another format, and the secret
    /// variable names if they are not kept (`ExpectedProfiles`), in one transaction. Returns how many it rendered.
    @discardableResult
    public static func completeHashes(_ store: ConfigurationEditor) throws -> Int {
        try store.beginWriting()
        var committed = false
        defer { if !committed { store.rollBack() } }
        let rendered = try ExpectedProfiles.refresh(store)
        try store.commit()
        committed = true
        return rendered
    }
}
