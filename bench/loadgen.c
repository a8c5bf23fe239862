/* loadgen: a load driver for the profile URL through a real Apache, presenting a phone's client certificate
 * (wrk and ab cannot). Two patterns (issue 5 point 2):
 *
 *   --mode keepalive   N connections (default 16), each sends its requests one after another on one TLS
 *                      connection (HTTP/1.1 keep-alive; reconnects if the server closes)
 *   --mode handshake   N clients (default 8), each opens a new TCP connection and does a full TLS handshake
 *                      (no session resumption) for every request: a resync storm
 *
 * Bounded by --duration SECONDS and --max-requests COUNT, whichever comes first. Prints one line:
 *   loadgen: mode=.. clients=.. path=.. requests=.. seconds=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
 *            status_200=.. [status_NNN=..] errors=.. result=ok|ERRORS
 * `errors` counts requests that got no HTTP answer (connect, TLS or read failures); any error or non-200 status
 * makes result=ERRORS and the exit status 1.
 *
 * Build: gcc -O2 -pthread -o loadgen loadgen.c -lssl -lcrypto
 * Example: loadgen --port 8443 --ca ca.pem --cert phone.pem --key phone.key --path /cgi-bin/profile/MAC.xml \
 *                  --mode keepalive --clients 16 --duration 10 --max-requests 50000
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static const char *host = "127.0.0.1", *sni = "localhost", *path = "/", *ca, *cert, *key, *mode = "keepalive";
static int port = 443, clients = 0;
static double duration = 10;
static long max_requests = 10000;

static SSL_CTX *ctx;
static double deadline;
static atomic_long issued, completed, errors;
static atomic_long status_counts[600];
static float *latencies; /* ms, one per completed request */
static atomic_int first_error_logged;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void note_error(const char *what) {
    atomic_fetch_add(&errors, 1);
    if (atomic_fetch_add(&first_error_logged, 1) < 5) {
        char buf[256] = "";
        unsigned long e = ERR_get_error();
        if (e) ERR_error_string_n(e, buf, sizeof buf);
        fprintf(stderr, "loadgen: %s%s%s%s%s\n", what, buf[0] ? ": " : "", buf, errno ? " / " : "", errno ? strerror(errno) : "");
    }
    ERR_clear_error();
}

typedef struct { int fd; SSL *ssl; } conn;

static void disconnect(conn *c) {
    if (c->ssl) { SSL_shutdown(c->ssl); SSL_free(c->ssl); }
    if (c->fd >= 0) close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

static int connect_tls(conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) return -1;
    struct timeval tv = {10, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    errno = 0;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) { note_error("connect"); disconnect(c); return -1; }
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, sni);
    SSL_set1_host(c->ssl, sni);
    errno = 0;
    if (SSL_connect(c->ssl) != 1) { note_error("TLS handshake"); disconnect(c); return -1; }
    return 0;
}

static int write_all(conn *c, const char *p, int n) {
    while (n > 0) {
        int w = SSL_write(c->ssl, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= w;
    }
    return 0;
}

/* Reads one HTTP response; returns the status, or -1. *closes is set when the server will close. */
static int read_response(conn *c, int *closes) {
    static __thread char buf[1 << 16];
    int have = 0;
    char *end = NULL;
    while (!end) {
        if (have >= (int)sizeof buf - 1) return -1;
        int r = SSL_read(c->ssl, buf + have, (int)sizeof buf - 1 - have);
        if (r <= 0) return -1;
        have += r;
        buf[have] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/%*d.%*d %d", &status) != 1) return -1;
    long length = -1;
    int chunked = 0;
    *closes = strncmp(buf, "HTTP/1.0", 8) == 0;
    for (char *line = strstr(buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0) length = strtol(line + 15, NULL, 10);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strcasestr(line, "chunked") && strcasestr(line, "chunked") < strstr(line, "\r\n")) chunked = 1;
        else if (strncasecmp(line, "Connection:", 11) == 0) {
            char *eol = strstr(line, "\r\n");
            char *cl = strcasestr(line, "close");
            if (cl && cl < eol) *closes = 1;
        }
    }
    int body_start = (int)(end + 4 - buf);
    int body_have = have - body_start;
    if (chunked) {
        /* keep the body bytes at the start of buf and read until the terminating 0-size chunk */
        memmove(buf, buf + body_start, (size_t)body_have);
        have = body_have;
        int pos = 0;
        for (;;) {
            char *crlf;
            while (!(buf[have] = 0, crlf = strstr(buf + pos, "\r\n"))) {
                if (have >= (int)sizeof buf - 1) return -1;
                int r = SSL_read(c->ssl, buf + have, (int)sizeof buf - 1 - have);
                if (r <= 0) return -1;
                have += r;
            }
            long size = strtol(buf + pos, NULL, 16);
            int data = (int)(crlf + 2 - buf);
            long need = data + size + 2;
            while (have < need) {
                if (need >= (long)sizeof buf - 1) return -1;
                int r = SSL_read(c->ssl, buf + have, (int)sizeof buf - 1 - have);
                if (r <= 0) return -1;
                have += r;
            }
            if (size == 0) break; /* no trailers expected */
            pos = (int)need;
        }
    } else if (length >= 0) {
        long left = length - body_have;
        while (left > 0) {
            int r = SSL_read(c->ssl, buf, left < (long)sizeof buf ? (int)left : (int)sizeof buf);
            if (r <= 0) return -1;
            left -= r;
        }
    } else {
        /* no length: the body ends when the connection does */
        while (SSL_read(c->ssl, buf, sizeof buf) > 0) {}
        *closes = 1;
    }
    return status;
}

static void *client(void *arg) {
    (void)arg;
    int keepalive = strcmp(mode, "keepalive") == 0;
    char request[1024];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadgen (Cisco-like)\r\nConnection: %s\r\n\r\n",
                     path, sni, keepalive ? "keep-alive" : "close");
    conn c = {-1, NULL};
    while (now() < deadline) {
        long slot = atomic_fetch_add(&issued, 1);
        if (slot >= max_requests) break;
        double t0 = now();
        if (!c.ssl && connect_tls(&c) != 0) continue;
        int closes = 0, status = -1;
        if (write_all(&c, request, n) == 0) status = read_response(&c, &closes);
        if (status < 0) {
            note_error("request");
            disconnect(&c);
            continue;
        }
        double ms = (now() - t0) * 1000;
        long i = atomic_fetch_add(&completed, 1);
        latencies[i] = (float)ms;
        atomic_fetch_add(&status_counts[status > 0 && status < 600 ? status : 0], 1);
        if (!keepalive || closes) disconnect(&c);
    }
    disconnect(&c);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void usage(void) {
    fprintf(stderr, "usage: loadgen --port P --ca CA.pem --cert PHONE.pem --key PHONE.key --path /URL\n"
                    "               [--host 127.0.0.1] [--sni localhost] [--mode keepalive|handshake]\n"
                    "               [--clients N] [--duration S] [--max-requests N]\n");
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--sni")) sni = v;
        else if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--ca")) ca = v;
        else if (!strcmp(a, "--cert")) cert = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--mode")) mode = v;
        else if (!strcmp(a, "--clients")) clients = atoi(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--max-requests")) max_requests = atol(v);
        else usage();
    }
    if (strcmp(mode, "keepalive") && strcmp(mode, "handshake")) usage();
    if (!ca || !cert || !key || port <= 0 || duration <= 0 || max_requests <= 0) usage();
    if (clients <= 0) clients = strcmp(mode, "keepalive") == 0 ? 16 : 8;
    if (clients > 256) clients = 256;

    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "loadgen: cannot load the CA, certificate or key\n");
        return 2;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* Apache asks for the client certificate per location: TLS 1.3 post-handshake authentication. */
    SSL_CTX_set_post_handshake_auth(ctx, 1);
    /* Every handshake is a full one: no tickets, no session cache. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

    latencies = calloc((size_t)max_requests, sizeof(float));
    pthread_t threads[256];
    double start = now();
    deadline = start + duration;
    for (int i = 0; i < clients; i++) pthread_create(&threads[i], NULL, client, NULL);
    for (int i = 0; i < clients; i++) pthread_join(threads[i], NULL);
    double seconds = now() - start;

    long done = atomic_load(&completed);
    qsort(latencies, (size_t)done, sizeof(float), by_value);
#define PCT(p) (done ? latencies[(long)((p) * (done - 1))] : 0.0)
    long ok200 = atomic_load(&status_counts[200]);
    long errs = atomic_load(&errors);
    int bad = errs > 0 || ok200 != done || done == 0;
    printf("loadgen: mode=%s clients=%d path=%s requests=%ld seconds=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f "
           "p99_ms=%.2f max_ms=%.2f",
           mode, clients, path, done, seconds, done / seconds, PCT(0.50), PCT(0.90), PCT(0.99), done ? latencies[done - 1] : 0.0);
    for (int s = 0; s < 600; s++) {
        long k = atomic_load(&status_counts[s]);
        if (k) printf(" status_%d=%ld", s, k);
    }
    printf(" errors=%ld result=%s\n", errs, bad ? "ERRORS" : "ok");
    return bad ? 1 : 0;
}
