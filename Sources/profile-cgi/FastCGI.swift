import CFastCGI
import Provisioning

/// The FastCGI responder: requests one at a time from libfcgi, each read into a `Request`, answered by one
/// `ProfileService` that keeps its configuration connection and prepared statements, the answer finished
/// (`FCGX_Finish_r`) before its bookkeeping is written.
///
/// - Freshness: each request reads in a read transaction of its own, so it sees the newest commit; the service
///   reopens the file when it was replaced (another inode at the path) or a read failed. No rendered profile is
///   cached, so no setting can be served stale.
/// - The journal: written after the answers are finished, in batches. A record waits while phones keep coming
///   (the next connection is there within `idleMilliseconds`), so under load one transaction carries many
///   answers, at most `batchLimit` records or `batchDelayMicroseconds` after the oldest; when no phone comes
///   within `idleMilliseconds`, the batch goes in. A write waits `PROVISIONER_JOURNAL_WAIT_MS` (default 5 ms
///   here) for the lock; what a held lock keeps out stays queued (at most `pendingLimit` records) and is tried
///   again while idle; what cannot be queued, or is still queued at exit, is counted as lost. (`bench/fcgi-cpu`:
///   with a transaction per answer and glibc trimming the heap after each request, this process spent 226 us of
///   CPU per request; with batches and the kept heap, 111 us.)
/// - Stopping: SIGTERM (mod_fcgid, spawn-fcgi) or SIGUSR1 ends the loop after the request under way; the queue
///   gets one last longer try.
/// - Memory: every request's values are released when the iteration ends; the process holds only the service,
///   the journal and the queue.
enum FastCGIResponder {
    static let pendingLimit = 10_000
    /// The queue's bound in bytes (a report row carries up to `Request.bodyLimit` of XML): past it a record is
    /// counted as lost rather than queued, so a held journal lock cannot grow a responder without bound.
    static let pendingByteLimit = 8 << 20
    /// A batch is written when it holds this many records, or its oldest is this old, even with a phone waiting.
    static let batchLimit = 128
    static let batchDelayMicroseconds = 100_000
    /// How long a gathered batch waits for the next phone before it is written.
    static let idleMilliseconds: Int32 = 2

    static func run() -> Never {
        // The one signal owner (Termination): a stopping signal marks the process and asks libfcgi to stop
        // accepting; a journal lock wait under way gives up (Journal.stopWaiting).
        Termination.deferTermination(signals: Termination.responderSignals, restart: false, handler: { _ in
            Termination.requested = 1
            FCGX_ShutdownPending()
        })
        CFastCGI_keepHeap()
        guard FCGX_Init() == 0 else {
            FileDescriptor.writeAll(2, Array("profile-cgi: FastCGI: FCGX_Init failed\n".utf8))
            ProcessControl.exit(1)
        }
        let processEnvironment = StringTable.processEnvironment()
        var configuration = Configuration(environment: processEnvironment)
        if processEnvironment["PROVISIONER_JOURNAL_WAIT_MS"] == nil { configuration.journalWaitMilliseconds = 5 }
        let service = ProfileService(configuration: configuration)
        let journal = Journal(path: configuration.journalPath, node: configuration.node)
        journal.stopWaiting = { Termination.isRequested }
        var pending: [Bookkeeping] = []
        var pendingBytes = 0
        var request = FCGX_Request()
        guard FCGX_InitRequest(&request, 0, 0) == 0 else { ProcessControl.exit(1) }

        /// Writes the queue; false when a held lock kept it out (it stays queued). `idle`: no phone is waiting,
        /// so a large write-ahead log may be checkpointed now (with its fdatasyncs) rather than on a phone's time;
        /// under load without a pause SQLite's own checkpoint (1,000 pages) keeps the log bounded.
        func flush(waitMilliseconds: Int32, idle: Bool = true) -> Bool {
            guard !pending.isEmpty, configuration.recordsJournal else { return true }
            do {
                try journal.write(pending, waitMilliseconds: waitMilliseconds, checkpoint: idle)
                pending.removeAll(keepingCapacity: true)
                pendingBytes = 0
            } catch let error where error.isBusy && pending.count <= pendingLimit && pendingBytes <= pendingByteLimit {
                return false
            } catch {
                journal.countLost(pending)
                pending.removeAll(keepingCapacity: true)
                pendingBytes = 0
            }
            return true
        }

        var oldest = 0
        var blocked = false
        while !Termination.isRequested {
            // Queued records go in as soon as no phone is waiting: at once for a batch being gathered, every
            // 200 ms while a lock keeps them out. The try is as short as after an answer: a phone that connects
            // meanwhile waits for it to end.
            while !pending.isEmpty && !Termination.isRequested && CFastCGI_waitForConnection(blocked ? 200 : idleMilliseconds) == 0 {
                blocked = !flush(waitMilliseconds: configuration.journalWaitMilliseconds)
            }
            if Termination.isRequested || FCGX_Accept_r(&request) < 0 { break }
            let started = Clock.monotonicMicroseconds()
            var answer = respond(to: &request, service: service)
            let finished = Clock.monotonicMicroseconds()
            answer.finish(microseconds: finished - started)
            put(answer.log.lineBytes, request.err)
            FCGX_Finish_r(&request)
            if configuration.recordsJournal {
                if pending.isEmpty { oldest = finished }
                // The record, derived once from the answer's outcome.
                let record = answer.bookkeeping
                let size = record.approximateBytes
                if pendingBytes + size > pendingByteLimit && !pending.isEmpty && blocked {
                    // The lock still holds and the queue is full: this record is counted, not kept.
                    journal.countLost([record])
                    continue
                }
                pending.append(record)
                pendingBytes += size
                if pending.count >= batchLimit || finished - oldest >= batchDelayMicroseconds {
                    blocked = !flush(waitMilliseconds: configuration.journalWaitMilliseconds, idle: false)
                }
            }
        }
        _ = flush(waitMilliseconds: 1000)
        if !pending.isEmpty { journal.countLost(pending) }
        ProcessControl.exit(0)
    }

    /// Reads the request's parameters and body, answers it, and writes the answer to its output stream.
    static func respond(to request: inout FCGX_Request, service: ProfileService) -> Answer {
        let environment = StringTable(environment: request.envp)
        var parsed = Request(environment: environment)
        parsed.body = readBody(request.in, plan: parsed.bodyPlan)
        let answer = service.respond(to: parsed, now: Clock.unixMicroseconds())
        put(answer.response.serialized(), request.out)
        return answer
    }

    /// The body as `Request.bodyPlan` says: `keep` bytes kept, up to `read` read (mod_fcgid has the whole body
    /// already, at most `FcgidMaxRequestLen`; a chunked one arrives with its end marked).
    static func readBody(_ stream: UnsafeMutablePointer<FCGX_Stream>?, plan: (keep: Int, read: Int)) -> [UInt8] {
        guard let stream, plan.read > 0 else { return [] }
        return BodyReader.read(plan: plan) { buffer in
            Int(FCGX_GetStr(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(clamping: buffer.count), stream))
        }
    }

    static func put(_ bytes: [UInt8], _ stream: UnsafeMutablePointer<FCGX_Stream>?) {
        guard let stream, !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            _ = FCGX_PutStr(raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count), stream)
        }
    }
}
