import ProvisioningAdmin

/// provctl's side of `LockHolders`: the database it opened, named in a held lock's message.
extension LockHolders {
    /// The path of the database provctl last opened, for the message.
    nonisolated(unsafe) static var databasePath: String?

    /// `message` (of an error whose cause is a held lock, `AdminError.isLockHeld`) with what provctl knows about
    /// the lock.
    static func explain(_ message: String) -> String {
        guard let path = databasePath else { return message }
        return explain(message, path: path)
    }
}
