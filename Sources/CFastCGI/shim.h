#ifndef CFASTCGI_SHIM_H
#define CFASTCGI_SHIM_H
/* Debian's libfcgi (libfcgi-dev): the FastCGI protocol from the library the field uses, linked statically. */
#include <stddef.h>
#include <fcgiapp.h>
#include <sys/socket.h>
#include <signal.h>
#include <poll.h>
#include <malloc.h>

/* Every request allocates and frees the same few hundred KB. By default glibc gives the top of the heap back when
   more than 128 KB of it is free and takes it again on the next request: brk calls and fresh, zeroed pages (page
   faults) on every request. A long-lived responder keeps 8 MB spare instead; RSS still stays flat, since the same
   memory is used again (bench/fcgi-rss). */
static inline void CFastCGI_keepHeap(void) {
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
}

/* True when fd 0 is a listening socket: how mod_fcgid and spawn-fcgi start a FastCGI responder. A CGI's fd 0 is
   a pipe or a connected socket. (libfcgi's own FCGX_IsCGI first initialises the library and its signal handlers,
   which a CGI should not pay for.) */
static inline int CFastCGI_stdinIsListeningSocket(void) {
    int listening = 0;
    socklen_t length = sizeof listening;
    if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0) return 0;
    return listening != 0;
}

/* SIGTERM (mod_fcgid's and spawn-fcgi's stop) and SIGUSR1 (Apache's graceful restart, as libfcgi treats it): ask
   libfcgi to stop accepting, and note it; the request under way is finished first. SIGPIPE is ignored: a phone
   that went away fails that write only. */
static volatile sig_atomic_t CFastCGI_stopRequested = 0;
static void CFastCGI_onStop(int signal) {
    (void)signal;
    CFastCGI_stopRequested = 1;
    FCGX_ShutdownPending();
}
static inline void CFastCGI_installSignalHandlers(void) {
    struct sigaction action;
    action.sa_handler = CFastCGI_onStop;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; /* no SA_RESTART: accept() returns EINTR and the loop ends */
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGUSR1, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
}
static inline int CFastCGI_shouldStop(void) { return CFastCGI_stopRequested != 0; }

/* Waits up to `milliseconds` for a connection on the listening socket; 1 when one is there. */
static inline int CFastCGI_waitForConnection(int milliseconds) {
    struct pollfd descriptor = { .fd = 0, .events = POLLIN, .revents = 0 };
    return poll(&descriptor, 1, milliseconds) > 0;
}
#endif
