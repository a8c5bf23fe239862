// profile-cgi: the program Apache runs for profile requests, in one of two modes of the same static binary:
// - as a CGI (mod_cgid, mod_cgi): one request from the environment, the answer on stdout, the log line on stderr;
// - as a FastCGI responder (mod_fcgid, spawn-fcgi): fd 0 is a listening socket; requests come one at a time
//   through Debian's libfcgi, on one kept configuration connection (FastCGI.swift).
import CFastCGI
import Provisioning

SQLiteDatabase.configureForSingleThread()
if CFastCGI_stdinIsListeningSocket() != 0 {
    FastCGIResponder.run()
} else {
    CGIRequest.run()
}
