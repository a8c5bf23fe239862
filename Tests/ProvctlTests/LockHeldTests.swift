import Foundation
import Provisioning
import Testing

/// A lock another process holds is recognised by SQLite's result code the error carries (`AdminError.cause`
/// `.lockHeld`), not by the message's text, and provctl names who holds it.
@Suite("a held lock: provctl waits a bounded time, then names the holder")
struct LockHeldTests {
    @Test("a change under another process's write lock fails with status 1 naming this process")
    func namesHolder() throws {
        let sandbox = try Sandbox()
        let holder = try SQLiteDatabase(path: sandbox.db, mode: .readWrite)
        try holder.execute("BEGIN IMMEDIATE")
        defer { try? holder.execute("ROLLBACK") }
        let started = Date()
        let outcome = try sandbox.provctl("var", "default", "locked=1")
        let waited = Date().timeIntervalSince(started)
        #expect(outcome.status == 1 && waited < 12, "\(outcome) after \(waited) s")
        #expect(outcome.stderr.contains("held by pid \(getpid())") && outcome.stderr.contains("waited 5 s"), "\(outcome)")
        let json = try sandbox.provctl("var", "default", "locked=1", "--json")
        #expect(json.status == 1 && json.text.contains("\"code\": \"runtime\"") && json.text.contains("held by pid \(getpid())"),
                "\(json)")
    }
}
