#ifndef CFASTCGI_SHIM_H
#define CFASTCGI_SHIM_H
/* Debian's libfcgi (libfcgi-dev): the FastCGI protocol from the library the field uses, linked statically. */
#include <stddef.h>
#include <fcgiapp.h>
#include <sys/socket.h>
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

/* Waits up to `milliseconds` for a connection on the listening socket; 1 when one is there. */
static inline int CFastCGI_waitForConnection(int milliseconds) {
    struct pollfd descriptor = { .fd = 0, .events = POLLIN, .revents = 0 };
    return poll(&descriptor, 1, milliseconds) > 0;
}
#endif
