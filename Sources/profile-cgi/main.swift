// profile-cgi: the program Apache runs for every profile request. Environment in, bytes out.
import Provisioning
#if canImport(Glibc)
import Glibc
#endif

var started = timespec()
clock_gettime(CLOCK_MONOTONIC, &started)

// Only the variables the core reads are kept, as bytes: Apache passes dozens more (the server's own certificate
// among them).
var environment = StringTable()
var cursor = environ
while let entry = cursor.pointee {
    cursor += 1
    let wanted = strncmp(entry, "SSL_CLIENT_", 11) == 0 || strncmp(entry, "PROVISIONER_", 12) == 0
        || strncmp(entry, "REQUEST_METHOD=", 15) == 0 || strncmp(entry, "PATH_INFO=", 10) == 0
        || strncmp(entry, "REMOTE_ADDR=", 12) == 0 || strncmp(entry, "HTTP_USER_AGENT=", 16) == 0
    guard wanted, let equals = strchr(entry, Int32(UInt8(ascii: "="))) else { continue }
    entry.withMemoryRebound(to: UInt8.self, capacity: strlen(entry) + 1) { bytes in
        let keyCount = equals - entry
        environment.appendNew(UnsafeBufferPointer(start: bytes, count: keyCount),
                              UnsafeBufferPointer(start: bytes + keyCount + 1, count: strlen(equals + 1)))
    }
}

SQLiteDatabase.configureForSingleThread()
let service = ProfileService(databasePath: ProfileService.databasePath(environment: environment),
                             recordsSeen: ProfileService.recordsSeen(environment: environment))
var (response, log) = service.respond(environment: environment, now: Int(time(nil)))

/// Writes all of `bytes` to `fd`, retrying short writes; gives up quietly if the reader went away.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

writeAll(1, response.serialized())
var finished = timespec()
clock_gettime(CLOCK_MONOTONIC, &finished)
log.microseconds = (finished.tv_sec - started.tv_sec) * 1_000_000 + (finished.tv_nsec - started.tv_nsec) / 1000
writeAll(2, log.lineBytes)
// Apache (mod_cgid) ends the request when both stdout and stderr are closed: the bookkeeping below no longer
// delays the phone. It can no longer log either, so a failed `seen` write goes unreported; it is bookkeeping only.
close(1)
close(2)
service.recordSeen(log: &log, now: Int(time(nil)))
exit(0)
