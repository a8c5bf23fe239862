public import Provisioning

/// The write transaction a change runs in, opened and closed by the engine (`ChangeEngine`): `BEGIN IMMEDIATE`
/// takes the write lock at once (waiting the busy timeout for another writer), so the renders before and after see
/// one state of the database.
extension DeviceStore {
    public func beginWriting() throws(SQLiteError) { try database.execute("BEGIN IMMEDIATE") }
    public func commit() throws(SQLiteError) { try database.execute("COMMIT") }
    /// Undoes an open transaction; nothing to do when none is open.
    public func rollBack() { try? database.execute("ROLLBACK") }
}
