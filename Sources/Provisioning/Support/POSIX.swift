#if canImport(Glibc)
import Glibc
#endif
import CCrypto  // getrandom (<sys/random.h>)

// The serving core's POSIX calls, in one place: time, file state, whole writes and reads, processes, random
// bytes, signals, the process environment. No other file of Sources/Provisioning or Sources/profile-cgi imports
// Glibc wholesale (Tests/run checks it): they import named memory functions only.

/// The state of a database file that decides whether it may be read without SQLite's shared memory.
public struct FileStamp: Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int
    public var modifiedSeconds: Int
    public var modifiedNanoseconds: Int

    /// The file's stamp, or nil when it cannot be read.
    public static func of(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileStamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int(info.st_size),
                         modifiedSeconds: Int(info.st_mtim.tv_sec), modifiedNanoseconds: Int(info.st_mtim.tv_nsec))
    }

    /// The file's stamp when no connection has it open in WAL mode (no `-shm` beside it) and no committed change
    /// waits in a log (no `-wal`, or an empty one): then the file alone is the whole, consistent database.
    /// Nil otherwise.
    ///
    /// A `-shm` that no process has open as SQLite's shared memory counts as absent: every SQLite connection in
    /// WAL mode holds a read lock on its "DMS" byte (offset 128) for as long as it is open, so a file without that
    /// lock is left over, for instance by a connection that failed to extend it on a full disk.
    public static func quiescent(_ path: String) -> FileStamp? {
        var info = stat()
        if stat(path + "-shm", &info) == 0 && sharedMemoryInUse(path + "-shm") { return nil }
        if stat(path + "-wal", &info) == 0 && info.st_size > 0 { return nil }
        return of(path)
    }

    /// True when some process holds a POSIX lock on the DMS byte of a `-shm` file (or it cannot be checked).
    static func sharedMemoryInUse(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 128
        lock.l_len = 1
        guard fcntl(fd, F_GETLK, &lock) == 0 else { return true }
        return lock.l_type != Int16(F_UNLCK)
    }
}

/// Time as the request path needs it.
public enum Clock {
    /// Microseconds on the monotonic clock, for durations.
    public static func monotonicMicroseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1_000_000 + now.tv_nsec / 1000
    }

    /// Unix time in seconds.
    public static func unixSeconds() -> Int { Int(time(nil)) }

    /// Unix time in microseconds.
    public static func unixMicroseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec * 1_000_000 + now.tv_nsec / 1000
    }
    /// Sleeps `microseconds` (`usleep`).
    public static func sleep(microseconds: Int) { usleep(useconds_t(clamping: microseconds)) }
}

/// Whole writes and reads on file descriptors.
public enum FileDescriptor {
    /// Writes all of `bytes` to `fd`, retrying short writes; false if the reader went away.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    /// Reads and discards up to `limit` bytes from `fd` (a refused request's body, so that the web server does
    /// not reset the connection). Returns the count read.
    @discardableResult
    public static func drain(_ fd: Int32, limit: Int) -> Int {
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 16384)
        while total < limit {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, min($0.count, limit - total)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            total += n
        }
        return total
    }

    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Reads what `fd` has into `buffer`, waiting for it until `deadline` (monotonic microseconds, `Clock`):
    /// the count read, 0 at the end, at the deadline or on an error (`poll`, `read`; EINTR is retried).
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, until deadline: Int) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        while true {
            let left = Int32(clamping: (deadline - Clock.monotonicMicroseconds()) / 1000)
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&descriptor, 1, left) > 0 else { return 0 }
            let n = Glibc.read(fd, base, buffer.count)
            if n < 0 && errno == EINTR { continue }
            return max(n, 0)
        }
    }
}

/// Making processes and ending them.
public enum ProcessControl {
    /// Forks a child in a session of its own (`fork`, `setsid`): true in the child, false in the parent, nil
    /// when no child could be made.
    public static func forkDetached() -> Bool? {
        let child = fork()
        if child < 0 { return nil }
        if child > 0 { return false }
        _ = setsid()
        return true
    }

    /// Ends the process at once: no exit handlers, no buffers flushed, nothing closed (`_exit`).
    public static func exitAtOnce(_ status: Int32) -> Never { _exit(status) }

    /// Ends the process (`exit`).
    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }
}

/// Random bytes from the kernel's CSPRNG.
public enum KernelRandom {
    /// Fills `buffer` (`getrandom(2)`, EINTR retried); false with the errno when the kernel gave none.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) -> (ok: Bool, errno: Int32) {
        guard let base = buffer.baseAddress else { return (true, 0) }
        var filled = 0
        while filled < buffer.count {
            let n = getrandom(base + filled, buffer.count - filled, 0)
            if n < 0 {
                if errno == EINTR { continue }
                return (false, errno)
            }
            filled += n
        }
        return (true, 0)
    }
}

extension StringTable {
    /// Every variable of the process environment, as bytes: nothing is filtered out, so a variable the core
    /// starts to read later is never hidden by a list somewhere else.
    public static func processEnvironment() -> StringTable { StringTable(environment: environ) }

    /// The `NAME=value` entries of a NULL-terminated array (`environ`, a FastCGI request's `envp`), as bytes.
    public init(environment: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        self.init()
        guard var cursor = environment else { return }
        var table = StringTable()
        defer { self = table }
        while let entry = cursor.pointee {
            cursor += 1
            guard let equals = strchr(entry, Int32(UInt8(ascii: "="))) else { continue }
            entry.withMemoryRebound(to: UInt8.self, capacity: strlen(entry) + 1) { bytes in
                let keyCount = equals - entry
                table.appendNew(UnsafeBufferPointer(start: bytes, count: keyCount),
                                UnsafeBufferPointer(start: bytes + keyCount + 1, count: strlen(equals + 1)))
            }
        }
    }
}

/// The machine's name, for the journal's `node` column when `PROVISIONER_NODE` is not set.
public enum HostName {
    public static func current() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(cString: buffer)
    }
}

/// The process's one signal owner, for the CGI and the FastCGI responder alike.
///
/// A CGI: mod_cgid ends every CGI that outlives its answer: once the request is done it sends SIGTERM, then
/// SIGKILL 3 s later (`cleanup_nonchild_process`). The CGI writes its journal after the answer, so by default
/// SIGTERM killed it mid-write and the record was lost without a trace. With `deferTermination()` SIGTERM only
/// sets `requested`: a write under way finishes (a millisecond or two), a lock wait gives up (the journal's busy
/// wait asks `isRequested`, `Journal.stopWaiting`; the CGI hands a busy write to a child process,
/// `Journal.writeHandingOff`).
///
/// A FastCGI responder (`deferTermination(signals:handler:)`): SIGTERM (mod_fcgid, spawn-fcgi), SIGUSR1 (Apache's
/// graceful restart, as libfcgi treats it) and SIGINT end the loop after the request under way, and cut a journal
/// lock wait short the same way. No SA_RESTART there: a blocked accept() returns EINTR.
///
/// SIGPIPE is ignored in both: a phone that hung up early makes a write fail, not the process die.
public enum Termination {
    /// Non-zero once a stopping signal arrived (written by the signal handler only).
    nonisolated(unsafe) public static var requested: Int32 = 0

    /// The signals that stop a FastCGI responder: SIGTERM (mod_fcgid, spawn-fcgi), SIGUSR1 (Apache's graceful
    /// restart, as libfcgi treats it), SIGINT.
    public static var responderSignals: [Int32] { [SIGTERM, SIGUSR1, SIGINT] }

    /// True once a stopping signal arrived.
    public static var isRequested: Bool { requested != 0 }

    /// The CGI's form: SIGTERM only marks the request. Call before writing the answer.
    public static func deferTermination() {
        deferTermination(signals: [SIGTERM], restart: true, handler: { _ in Termination.requested = 1 })
    }

    /// Installs `handler` (which must set `requested`, and may do only async-signal-safe work besides) for
    /// `signals`, and ignores SIGPIPE.
    public static func deferTermination(signals: [Int32], restart: Bool,
                                        handler: @escaping @convention(c) (Int32) -> Void) {
        requested = 0   // initializes the global before the handler can touch it
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handler
        action.sa_flags = restart ? SA_RESTART : 0
        sigemptyset(&action.sa_mask)
        for signal in signals { sigaction(signal, &action, nil) }
        signal(SIGPIPE, SIG_IGN)
    }
}

/// Paths without Foundation.
public enum FilePath {
    /// True when something (a file, a link) is at `path` (`lstat`).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Sets `path`'s permission bits (`chmod`); false when it failed.
    @discardableResult
    public static func setMode(_ path: String, _ mode: UInt32) -> Bool { chmod(path, mode_t(mode)) == 0 }

    /// The folder part of `path` (`.` when it has none).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` with every symbolic link resolved (`realpath`), or `path` itself when that fails.
    public static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }
}

/// Losses the journal could not take in, counted outside it: one line per lost record appended to a small file
/// in `/dev/shm` (memory, so a full or read-only disk cannot stop the count), named after the journal folder's
/// device and inode so that profile-cgi and provctl find the same file. The next writer that reaches the journal
/// folds the lines into the journal's `lost` table. Appends and the fold hold `flock`.
public struct LostCounter: Sendable {
    /// The counter file, or nil when the journal's folder cannot be looked at.
    public let path: String?
    /// Past this size further losses are only counted by the line "overflow" already there.
    static let limit = 1 << 20

    /// The group the file belongs to: the journal folder's (the web server's group; Debian: www-data).
    let group: gid_t

    public init(journalPath: String) {
        var info = stat()
        let folder = FilePath.directory(of: journalPath)
        if stat(folder, &info) == 0 {
            group = info.st_gid
            path = "/dev/shm/provisioner-lost-\(UInt64(info.st_dev))-\(UInt64(info.st_ino))"
        } else {
            group = 0
            path = nil
        }
    }

    /// Opens the counter file: never through a link (O_NOFOLLOW), mode 0660 in the journal folder's group (the
    /// web server's), nothing for anyone else. A file under the predictable name that is not a regular file of
    /// that group, or that others may read or write, was not made by a writer of this journal: it is not used
    /// (its losses are then not counted, rather than told to, or forged by, a stranger).
    func openFile(_ flags: Int32) -> Int32 {
        guard let path else { return -1 }
        let fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0o660)
        guard fd >= 0 else { return -1 }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            return -1
        }
        let mine = info.st_uid == geteuid()
        if mine && (info.st_gid != group || info.st_mode & 0o007 != 0) {
            // Just made, or ours from before (an older version made it 0666): only this user (or root) can own a
            // file as this user, so nobody else planted it. The journal folder's group, no access for others.
            _ = fchown(fd, uid_t.max, group)
            _ = fchmod(fd, 0o660)
            _ = fstat(fd, &info)
        }
        guard info.st_gid == group, info.st_mode & 0o007 == 0 else {
            Glibc.close(fd)
            return -1
        }
        return fd
    }

    /// Counts one lost record of kind `what` (`fetch`, `seen`, `claim`, ...).
    public func count(_ what: String, now: Int) {
        let fd = openFile(O_WRONLY | O_APPEND | O_CREAT)
        guard fd >= 0 else { return }
        defer { Glibc.close(fd) }
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        var info = stat()
        let full = fstat(fd, &info) == 0 && Int(info.st_size) > Self.limit
        FileDescriptor.writeAll(fd, Array("\(now) \(full ? "overflow" : what)\n".utf8))
    }

    /// The pending lines, each (time, kind), and empties the file when `take` is set.
    public func read(take: Bool) -> [(at: Int, what: String)] {
        let fd = openFile(take ? O_RDWR : O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { Glibc.close(fd) }
        flock(fd, take ? LOCK_EX : LOCK_SH)
        defer { flock(fd, LOCK_UN) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        if take { _ = ftruncate(fd, 0) }
        var result: [(at: Int, what: String)] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { continue }
            let at = Int(String(decoding: line[line.startIndex..<space], as: UTF8.self)) ?? 0
            result.append((at, String(decoding: line[(space + 1)...], as: UTF8.self)))
        }
        return result
    }
}
