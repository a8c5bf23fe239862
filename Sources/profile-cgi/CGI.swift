import Provisioning

/// One request as a CGI.
enum CGIRequest {
    static func run() -> Never {
        let started = Clock.monotonicMicroseconds()
        let environment = StringTable.processEnvironment()
        let service = ProfileService(configuration: Configuration(environment: environment))
        var request = Request(environment: environment)
        request.body = readBody(plan: request.bodyPlan)
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
        guard configuration.recordsJournal else { ProcessControl.exit(0) }
        let journal = Journal(path: configuration.journalPath, node: configuration.node)
        journal.stopWaiting = { Termination.isRequested }
        withExtendedLifetime(journal) { () -> Never in
            journal.writeHandingOff([answer.bookkeeping], waitMilliseconds: configuration.journalWaitMilliseconds)
            ProcessControl.exit(0)
        }
    }

    /// The body from stdin, as `Request.bodyPlan` says (decided from the caller's identity before any byte is
    /// read): `keep` bytes kept, up to `read` in all read, within `Request.bodySeconds`.
    static func readBody(plan: (keep: Int, read: Int)) -> [UInt8] {
        guard plan.read > 0 else { return [] }
        let deadline = Clock.monotonicMicroseconds() + Request.bodySeconds * 1_000_000
        return BodyReader.read(plan: plan) { FileDescriptor.read(0, into: $0, until: deadline) }
    }
}
