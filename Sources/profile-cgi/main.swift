// profile-cgi: the program Apache runs for every profile request. Environment in, bytes out.
import Provisioning
#if canImport(Glibc)
import Glibc
#endif

var started = timespec()
clock_gettime(CLOCK_MONOTONIC, &started)

var environment: [String: String] = [:]
var cursor = environ
while let entry = cursor.pointee {
    let text = String(cString: entry)
    if let equals = text.utf8.firstIndex(of: UInt8(ascii: "=")) {
        environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
    }
    cursor += 1
}

let service = ProfileService(databasePath: ProfileService.databasePath(environment: environment))
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
writeAll(2, Array((log.line + "\n").utf8))
exit(0)
