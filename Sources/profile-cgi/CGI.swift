import Provisioning
#if canImport(Glibc)
import Glibc
#endif

/// One request as a CGI.
enum CGIRequest {
    static func run() -> Never {
        let started = Clock.monotonicMicroseconds()
        let environment = StringTable.processEnvironment()
        let service = ProfileService(configuration: Configuration(environment: environment))
        var request = Request(environment: environment)
        if request.contentLength > 0 { request.body = readBody(length: request.contentLength) }
        var answer = service.respond(to: request, now: Clock.unixMicroseconds())
        // mod_cgid sends SIGTERM to a CGI still running once the answer is out (and SIGKILL 3 s later): from here
        // SIGTERM only marks the request, so that the journal write below finishes (see Termination); a busy
        // journal is handed to a child process (Journal.writeHandingOff).
        Termination.deferTermination()
        FileDescriptor.writeAll(1, answer.response.serialized())
        answer.finish(microseconds: Clock.monotonicMicroseconds() - started)
        FileDescriptor.writeAll(2, answer.log.lineBytes)
        // Apache ends the request when the CGI's output and error streams are closed (mod_cgid hands it one socket
        // for stdin and stdout): the bookkeeping below no longer delays the phone.
        FileDescriptor.close(0)
        FileDescriptor.close(1)
        FileDescriptor.close(2)
        // The journal stays open until exit (withExtendedLifetime around the exit: never released, so never closed): closing the last
        // connection would checkpoint the log and sync the file on every request; the writer checkpoints past 64
        // frames instead (Journal.checkpointIfLarge). With the journal off nothing of it is made.
        let configuration = service.configuration
        guard configuration.recordsJournal else { exit(0) }
        let journal = Journal(path: configuration.journalPath, node: configuration.node)
        withExtendedLifetime(journal) { () -> Never in
            journal.writeHandingOff([answer.bookkeeping], waitMilliseconds: configuration.journalWaitMilliseconds)
            exit(0)
        }
    }

    /// The body from stdin: up to `Request.bodyLimit` bytes kept, the rest (up to `Request.drainLimit`) read and
    /// dropped, so that Apache does not reset the connection of a refused request.
    static func readBody(length: Int) -> [UInt8] {
        let kept = min(length, Request.bodyLimit)
        var body = [UInt8](repeating: 0, count: kept)
        var got = 0
        while got < kept {
            let n = body.withUnsafeMutableBytes { read(0, $0.baseAddress! + got, kept - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        body.removeLast(kept - got)
        if length > kept { FileDescriptor.drain(0, limit: min(length, Request.drainLimit) - kept) }
        return body
    }
}
