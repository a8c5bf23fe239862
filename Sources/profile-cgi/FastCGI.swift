import CFastCGI
import Provisioning
#if canImport(Glibc)
import Glibc
#endif

/// The FastCGI responder: requests one at a time from libfcgi, each read into a `Request`, answered by one
/// `ProfileService` that keeps its configuration connection and prepared statements, the answer finished
/// (`FCGX_Finish_r`) before its bookkeeping is written.
///
/// - Freshness: each request reads in a read transaction of its own, so it sees the newest commit; the service
///   reopens the file when it was replaced (another inode at the path) or a read failed. No rendered profile is
///   cached, so no setting can be served stale.
/// - The journal: written after each answer with a short wait (`PROVISIONER_JOURNAL_WAIT_MS`, default 5 ms here);
///   what a held lock keeps out stays queued (at most `pendingLimit` records) and goes in with a later write,
///   tried again while idle; what cannot be queued, or is still queued at exit, is counted as lost.
/// - Stopping: SIGTERM (mod_fcgid, spawn-fcgi) or SIGUSR1 ends the loop after the request under way; the queue
///   gets one last longer try.
/// - Memory: every request's values are released when the iteration ends; the process holds only the service,
///   the journal and the queue.
enum FastCGIResponder {
    static let pendingLimit = 10_000

    static func run() -> Never {
        CFastCGI_installSignalHandlers()
        guard FCGX_Init() == 0 else {
            FileDescriptor.writeAll(2, Array("profile-cgi: FastCGI: FCGX_Init failed\n".utf8))
            exit(1)
        }
        let processEnvironment = StringTable.processEnvironment()
        var configuration = Configuration(environment: processEnvironment)
        if processEnvironment["PROVISIONER_JOURNAL_WAIT_MS"] == nil { configuration.journalWaitMilliseconds = 5 }
        let service = ProfileService(configuration: configuration)
        let journal = Journal(path: configuration.journalPath, node: configuration.node)
        var pending: [Bookkeeping] = []
        var request = FCGX_Request()
        guard FCGX_InitRequest(&request, 0, 0) == 0 else { exit(1) }

        func flush(waitMilliseconds: Int32) {
            guard !pending.isEmpty, configuration.recordsJournal else { return }
            do {
                try journal.write(pending, waitMilliseconds: waitMilliseconds)
                pending.removeAll(keepingCapacity: true)
            } catch let error where error.isBusy && pending.count <= pendingLimit {
                // Kept for a later write.
            } catch {
                journal.countLost(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }

        while CFastCGI_shouldStop() == 0 {
            // While records wait for a lock, try them again whenever no phone is waiting.
            while !pending.isEmpty && CFastCGI_shouldStop() == 0 && CFastCGI_waitForConnection(200) == 0 {
                // As short as after an answer: a phone that connects meanwhile waits for this try to end.
                flush(waitMilliseconds: configuration.journalWaitMilliseconds)
            }
            if CFastCGI_shouldStop() != 0 || FCGX_Accept_r(&request) < 0 { break }
            let started = Clock.monotonicMicroseconds()
            var answer = respond(to: &request, service: service)
            answer.finish(microseconds: Clock.monotonicMicroseconds() - started)
            put(answer.log.lineBytes, request.err)
            FCGX_Finish_r(&request)
            if configuration.recordsJournal {
                pending.append(answer.bookkeeping)
                flush(waitMilliseconds: configuration.journalWaitMilliseconds)
            }
        }
        flush(waitMilliseconds: 1000)
        if !pending.isEmpty { journal.countLost(pending) }
        exit(0)
    }

    /// Reads the request's parameters and body, answers it, and writes the answer to its output stream.
    static func respond(to request: inout FCGX_Request, service: ProfileService) -> Answer {
        let environment = StringTable(environment: request.envp)
        var parsed = Request(environment: environment)
        if parsed.contentLength > 0 { parsed.body = readBody(request.in, length: parsed.contentLength) }
        let answer = service.respond(to: parsed, now: Clock.unixMicroseconds())
        put(answer.response.serialized(), request.out)
        return answer
    }

    /// Up to `Request.bodyLimit` bytes of the body; the rest, up to `Request.drainLimit`, read and dropped.
    static func readBody(_ stream: UnsafeMutablePointer<FCGX_Stream>?, length: Int) -> [UInt8] {
        guard let stream else { return [] }
        var body: [UInt8] = []
        var buffer = [CChar](repeating: 0, count: 16384)
        var total = 0
        while total < min(length, Request.drainLimit) {
            let n = Int(FCGX_GetStr(&buffer, Int32(min(buffer.count, length - total)), stream))
            if n <= 0 { break }
            if body.count < Request.bodyLimit {
                let keep = min(n, Request.bodyLimit - body.count)
                buffer.withUnsafeBytes { body.append(contentsOf: $0.prefix(keep)) }
            }
            total += n
        }
        return body
    }

    static func put(_ bytes: [UInt8], _ stream: UnsafeMutablePointer<FCGX_Stream>?) {
        guard let stream, !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            _ = FCGX_PutStr(raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count), stream)
        }
    }
}
