// The core's side of "the server's bad day" (issue 11); the whole of it runs through Apache in
// Tests/reliability/run.
import Foundation
import Provisioning
import ProvisioningAdmin
import Testing
import TestSupport

@Suite("Reliability of the core")
struct ReliabilityTests {
    @Test("a -shm file no process holds is a leftover: the file still reads as quiescent")
    func leftoverSharedMemory() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [])
        // provctl's connection has closed: no -shm, no -wal.
        #expect(FileStamp.quiescent(db) != nil)
        // What a reader that failed to extend it on a full disk leaves behind: a few bytes, nobody's lock.
        FileManager.default.createFile(atPath: db + "-shm", contents: Data([0, 0, 0]))
        #expect(FileStamp.quiescent(db) != nil)
        // A non-empty log is never quiescent: committed changes may wait in it.
        FileManager.default.createFile(atPath: db + "-wal", contents: Data(repeating: 1, count: 64))
        #expect(FileStamp.quiescent(db) == nil)
    }

    @Test("a -shm another process holds open means a live connection: not quiescent")
    func heldSharedMemory() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [])
        // python3's sqlite3 opens the file in WAL mode and keeps it open (its lock on the -shm's DMS byte).
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1]); c.execute("SELECT count(*) FROM sqlite_master").fetchall()
            print("open", flush=True); sys.stdin.read()
            """, db]
        let input = Pipe(), output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        defer { try? input.fileHandleForWriting.close(); holder.waitUntilExit() }
        _ = output.fileHandleForReading.availableData
        #expect(FileManager.default.fileExists(atPath: db + "-shm"))
        #expect(FileStamp.quiescent(db) == nil)
    }

    @Test("a symbolic link to the database is judged by the file it points to")
    func symlinkedDatabase() throws {
        let directory = try TemporaryDirectory()
        let db = try makeDatabase(in: directory, devices: [])
        let link = directory.path("link.db")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: db)
        #expect(FilePath.resolved(link) == FilePath.resolved(db))
    }
}
