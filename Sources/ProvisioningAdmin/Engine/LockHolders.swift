import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who holds the lock an admin command waited for: the processes `/proc/locks` lists with a write lock on the database file,
/// its `-wal` or its `-shm` (SQLite takes POSIX `fcntl` locks: a writer's on bytes of the `-shm` file, an exclusive
/// locker's on the database file itself), each with its command line. An admin command waits for a lock for a bounded time
/// (`busyTimeoutSeconds`) and then names them, so the admin knows what to stop.
public enum LockHolders {
    /// How long an admin command waits for another process's lock before it gives up (SQLiteDatabase's default busy timeout).
    public static let busyTimeoutSeconds = 5

    /// "held by pid 123 (python3 hold.py)" for each process other than this one with a write lock on the files of
    /// `path`, or nil when none is listed.
    public static func describe(path: String) -> String? {
        // SQLite keeps -wal and -shm beside the file a symbolic link points to.
        let path = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var targets: [(major: UInt64, minor: UInt64, inode: UInt64)] = []
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard stat(file, &info) == 0 else { continue }
            let device = UInt64(info.st_dev)
            let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
            let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
            targets.append((major, minor, UInt64(info.st_ino)))
        }
        guard let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        var pids: [Int32] = []
        for line in text.split(separator: "\n") {
            // "12: POSIX  ADVISORY  WRITE 4242 00:2e:17 120 120"; a waiter's line has "->" after the number.
            let fields = line.split(separator: " ")
            guard fields.count >= 6, fields[1] != "->", fields[3] == "WRITE", let pid = Int32(fields[4]),
                  pid > 0, pid != getpid() else { continue }
            let parts = fields[5].split(separator: ":")
            guard parts.count == 3, let major = UInt64(parts[0], radix: 16), let minor = UInt64(parts[1], radix: 16),
                  let inode = UInt64(parts[2]) else { continue }
            if targets.contains(where: { $0.major == major && $0.minor == minor && $0.inode == inode }),
               !pids.contains(pid) {
                pids.append(pid)
            }
        }
        guard !pids.isEmpty else { return nil }
        return pids.map { pid in
            var command = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")))
                .map { String(decoding: $0.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces) } ?? ""
            if command.count > 160 { command = String(command.prefix(160)) + "..." }
            return "held by pid \(pid)" + (command.isEmpty ? "" : " (\(command))")
        }.joined(separator: ", ")
    }

    /// `message` (of an error whose cause is a held lock, `AdminError.isLockHeld`) with what is known about the
    /// lock on the database at `path`: how long was waited, and who holds it.
    public static func explain(_ message: String, path: String) -> String {
        let holders = describe(path: path) ?? "no process holding it is listed in /proc/locks"
        return message + " (waited \(busyTimeoutSeconds) s for \(path): \(holders))"
    }
}
