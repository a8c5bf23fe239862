/* ref-fcgi: the C FastCGI reference for profile-cgi's FastCGI mode (issue 9 point 6).
 *
 * The same work as ref-cgi.c, whose functions it includes, in a FastCGI responder loop built on Debian's libfcgi
 * (libfcgi-dev): mod_fcgid starts it with a listening socket on fd 0, and each FCGX_Accept_r hands it one
 * request. Per process: one read-only SQLite connection to the configuration (opened before the first
 * request), the statements prepared once and reset after each request; the journal's connection likewise. Per request, as the CGI: read the request's variables (environ points at the
 * request's params while it runs, as libfcgi's own fcgi_stdio does), the device, the four scopes, merge, expand,
 * render, gzip / encrypt, one answer, one log line on the request's error stream (mod_fcgid writes it to the
 * error log); then the request is finished (the phone has its bytes) and only then is the journal written (its
 * own connection, kept open with its statements).
 *
 * Memory: every allocation ref-cgi.c makes for a request comes from an arena that is emptied after the request
 * (its first block is kept), so a process stays at the same size however many requests it serves. SQLite, zlib
 * and libcrypto allocate with the real malloc and free what they allocate.
 *
 * Build: gcc -O2 -static -o ref-fcgi ref-fcgi.c -lfcgi -lsqlite3 -lz -lcrypto -lm -lpthread -ldl
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ctype.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <fcgiapp.h>
#include <openssl/aes.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <zlib.h>

/* ---- the per-request arena ---- */
typedef struct block { struct block *next; size_t cap, used; unsigned char data[]; } block;
static block *arena_first, *arena_current;
enum { ARENA_BLOCK = 256 * 1024, ARENA_ALIGN = 16 };
typedef struct { size_t size; size_t pad; } header; /* 16 bytes: keeps data aligned */

static void *arena_malloc(size_t n) {
    size_t need = sizeof(header) + ((n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
    if (!arena_current || arena_current->used + need > arena_current->cap) {
        size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        /* Reuse the next block of an earlier request if it is big enough; else a new one. */
        block *b = arena_current ? arena_current->next : arena_first;
        if (!b || b->cap < need) {
            b = malloc(sizeof(block) + cap);
            if (!b) abort();
            b->cap = cap;
            b->next = arena_current ? arena_current->next : NULL;
            if (arena_current) arena_current->next = b; else arena_first = b;
        }
        b->used = 0;
        arena_current = b;
    }
    header *h = (header *)(arena_current->data + arena_current->used);
    h->size = n;
    arena_current->used += need;
    return h + 1;
}

static void *arena_realloc(void *p, size_t n) {
    if (!p) return arena_malloc(n);
    header *h = (header *)p - 1;
    if (n <= h->size) return p;
    /* The newest allocation of the current block grows in place when there is room. */
    size_t old = sizeof(header) + ((h->size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
    size_t grown = sizeof(header) + ((n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
    unsigned char *end = (unsigned char *)h + old;
    if (end == arena_current->data + arena_current->used && arena_current->used - old + grown <= arena_current->cap) {
        arena_current->used += grown - old;
        h->size = n;
        return p;
    }
    void *q = arena_malloc(n);
    memcpy(q, p, h->size);
    return q;
}

static void arena_free(void *p) { (void)p; }

/* After a request: everything it allocated is released at once. The blocks stay for the next request; a block
   list that grew past 4 blocks (an unusually large profile) is cut back to the first. */
static void arena_reset(void) {
    int count = 0;
    for (block *b = arena_first; b; b = b->next) count++;
    if (count > 4 && arena_first) {
        block *b = arena_first->next;
        while (b) { block *next = b->next; free(b); b = next; }
        arena_first->next = NULL;
    }
    if (arena_first) arena_first->used = 0;
    arena_current = arena_first;
}

/* ref-cgi.c's request code allocates through the arena; the headers above are already in, so only its own
   calls are renamed. */
#define REF_NO_MAIN 1
#define malloc(n) arena_malloc(n)
#define realloc(p, n) arena_realloc(p, n)
#define free(p) arena_free(p)
#include "ref-cgi.c"
#undef malloc
#undef realloc
#undef free

extern char **environ;

int main(void) {
    if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) == SQLITE_OK) sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* The configuration comes from the process's environment (mod_fcgid: FcgidInitialEnv), read once. */
    char *dbpath = strdup(database_path());
    int seen = records_seen();
    if (seen) journal_configure(dbpath);
    char **process_environ = environ;
    /* Opened before the first request (answer() retries the open on a later request if this one fails). */
    open_database(dbpath);

    if (FCGX_Init() != 0) return 1;
    FCGX_Request request;
    if (FCGX_InitRequest(&request, 0, 0) != 0) return 1;
    while (FCGX_Accept_r(&request) >= 0) {
        /* The request's variables, for ref-cgi.c's getenv calls. */
        environ = request.envp;
        device d;
        buf out = {0}, log = {0};
        fetch_record rec;
        handle(dbpath, &d, &out, &log, &rec);
        FCGX_PutStr((const char *)out.p, (int)out.n, request.out);
        FCGX_PutStr((const char *)log.p, (int)log.n, request.err);
        environ = process_environ;
        /* The answer is complete for Apache (and the phone) here; the journal comes after, waiting at most 5 ms
           for its lock (profile-cgi's FastCGI default). */
        FCGX_Finish_r(&request);
        if (seen) journal_write(&rec, 5);
        reset_kept();
        arena_reset();
    }
    return 0;
}
