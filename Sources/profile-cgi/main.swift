// profile-cgi: the program Apache runs for profile requests. As a CGI: one request from the environment, the
// answer on stdout, the log line on stderr. (FastCGI mode: see FastCGI.swift.)
import Provisioning
#if canImport(Glibc)
import Glibc
#endif

let started = Clock.monotonicMicroseconds()
SQLiteDatabase.configureForSingleThread()
let environment = StringTable.processEnvironment()
let service = ProfileService(configuration: Configuration(environment: environment))
let request = Request(environment: environment)
var answer = service.respond(to: request, now: Clock.unixMicroseconds())
// From here SIGTERM (mod_cgid's, once the answer is out) no longer kills the journal write: see Termination.
Termination.deferTermination()
// A refused request's body is read (bounded), so that Apache does not log a connection reset.
if request.contentLength > 0 { FileDescriptor.drain(0, limit: min(request.contentLength, 1 << 20)) }
FileDescriptor.writeAll(1, answer.response.serialized())
answer.finish(microseconds: Clock.monotonicMicroseconds() - started)
FileDescriptor.writeAll(2, answer.log.lineBytes)
// Apache ends the request when the CGI's output and error streams are closed (mod_cgid hands it one socket for
// stdin and stdout): the bookkeeping below no longer delays the phone.
FileDescriptor.close(0)
FileDescriptor.close(1)
FileDescriptor.close(2)
// The journal stays open until exit: closing the last connection would checkpoint the log and sync the file on
// every request; instead the writer checkpoints past 64 frames (Journal.checkpointIfLarge).
let journal = Journal(path: service.configuration.journalPath, node: service.configuration.node)
if service.configuration.recordsJournal {
    do {
        try journal.write([answer.bookkeeping], waitMilliseconds: service.configuration.journalWaitMilliseconds)
    } catch {
        journal.countLost([answer.bookkeeping])
    }
}
exit(0)
