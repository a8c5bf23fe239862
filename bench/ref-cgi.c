/* ref-cgi: the static C reference for profile-cgi's per-request cost (issue 5).
 *
 * It does the same work as profile-cgi for a phone whose identity comes in mod_ssl's subject variables and
 * prints the same bytes: read the environment, open the SQLite file read-only with a busy timeout, check
 * PRAGMA user_version, select the device row, select the settings and variables of the four scopes with the
 * same SQL as ConfigurationStore.layers, merge default -> model -> group -> device (a row without ua inherits the ua
 * below it), expand {{variables}}, escape like XMLText.appendEscaped, sort by name bytewise, and write the
 * same CGI headers and body. .gz uses the same zlib settings (level 9, windowBits 31, memLevel 8); .cfg uses
 * the same low-level AES / MD5 / SHA-256 calls and getrandom(2) as OpenSSLEnc.swift. The configuration database
 * is opened read-only (schema versions 7..10). After the answer it logs one line on stderr and, as profile-cgi does
 * (Journal.write), writes the journal beside the database (PROVISIONER_JOURNAL, default journal.db; created with
 * profile-cgi's schema when missing): in one transaction a `fetches` row (with the SHA-256 of the plaintext
 * profile) and, on a 200, the device's `seen` row; then the write-ahead log is checkpointed past 64 frames.
 * PROVISIONER_RECORD_SEEN=0 turns the journal off.
 *
 * Not covered (the benchmark does not use them): reading the identity from the PEM (SSL_CLIENT_CERT) or from
 * SSL_CLIENT_S_DN, repeated attributes (_OU_1), Unicode case folding and canonical equivalence in names, claims
 * of unknown phones, the journal's pruning (profile-cgi prunes old `fetches` rows every 256th row) and its
 * count of lost records (a stat of the counter file is made, as profile-cgi does).
 *
 * The FastCGI reference (ref-fcgi.c) includes this file with REF_NO_MAIN and runs the same functions in a
 * request loop: the connection is opened once and the statements are prepared once (prepare_kept) and reset
 * after each request (reset_kept); one request runs one statement each, as here.
 *
 * Build: gcc -O2 -static -o ref-cgi ref-cgi.c -lsqlite3 -lz -lcrypto -lm -lpthread -ldl
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/aes.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <sys/time.h>
#include <zlib.h>

/* ---- growable byte buffer ---- */
typedef struct { unsigned char *p; size_t n, cap; } buf;

static void reserve(buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) abort();
    b->cap = cap;
}
static void put(buf *b, const void *s, size_t n) { reserve(b, n); memcpy(b->p + b->n, s, n); b->n += n; }
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }
static void putc_(buf *b, unsigned char c) { reserve(b, 1); b->p[b->n++] = c; }

static char *dup_n(const void *s, size_t n) { char *d = malloc(n + 1); memcpy(d, s, n); d[n] = 0; return d; }

/* ---- a refusal: status, reason (the body), detail (log only) ---- */
typedef struct { int status; const char *reason; char detail[256]; } refusal;
static refusal R;
static int refuse(int status, const char *reason, const char *fmt, ...) {
    R.status = status;
    R.reason = reason;
    R.detail[0] = 0;
    if (fmt) { va_list ap; va_start(ap, fmt); vsnprintf(R.detail, sizeof R.detail, fmt, ap); va_end(ap); }
    return -1;
}
#define SERVER_ERROR(...) refuse(500, "server error", __VA_ARGS__)

/* ---- MAC addresses (MACAddress.swift) ---- */
static int parse_mac(const char *s, size_t n, char out[13]) {
    char digits[12];
    size_t k = 0;
    if (n == 12) {
        memcpy(digits, s, 12);
    } else if (n == 17) {
        char sep = s[2];
        if (sep != ':' && sep != '-') return 0;
        for (size_t i = 2; i < 17; i += 3) if (s[i] != sep) return 0;
        for (size_t i = 0; i < 17; i++) if ((i + 1) % 3 != 0) digits[k++] = s[i];
    } else if (n == 14) {
        if (s[4] != '.' || s[9] != '.') return 0;
        for (size_t i = 0; i < 14; i++) if (i != 4 && i != 9) digits[k++] = s[i];
    } else {
        return 0;
    }
    for (int i = 0; i < 12; i++) {
        char c = digits[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) out[i] = c;
        else if (c >= 'A' && c <= 'F') out[i] = c + 32;
        else return 0;
    }
    out[12] = 0;
    return 1;
}

/* MACAddress.named(inFileName:) */
static int mac_in_file_name(const char *stem, size_t n, char out[13]) {
    if (parse_mac(stem, n, out)) return 1;
    static const size_t lengths[2] = {17, 12};
    for (int l = 0; l < 2; l++) {
        size_t len = lengths[l];
        if (n <= len) continue;
        if (!parse_mac(stem + n - len, len, out)) continue;
        size_t plen = n - len;
        char last = stem[plen - 1];
        int letters = 1;
        for (size_t i = 0; i < plen; i++) {
            unsigned char c = (unsigned char)stem[i] | 0x20;
            if (c < 'a' || c > 'z') { letters = 0; break; }
        }
        if (letters || last == '_' || last == '-' || last == '.') return 1;
    }
    return 0;
}

/* ---- the identity (ClientIdentity.from, variables form) ---- */
#define MAX_FIELDS 24
typedef struct { const char *name; const char *value; } field;
typedef struct {
    char mac[13];
    const char *serial, *model;
    field fields[MAX_FIELDS];
    int nfields;
} identity;

static const struct { const char *suffix, *name; } SUFFIXES[] = {
    {"C", "c"}, {"ST", "st"}, {"SP", "st"}, {"L", "l"}, {"O", "o"}, {"OU", "ou"}, {"CN", "cn"}, {"T", "title"},
    {"I", "initials"}, {"G", "givenname"}, {"S", "sn"}, {"D", "description"}, {"UID", "uid"},
    {"Email", "emailaddress"}, {"SerialNumber", "serialnumber"}, {"serialNumber", "serialnumber"}, {"DC", "dc"},
};
static const char *KNOWN_FIELDS[] = {
    "cn", "sn", "serialnumber", "c", "l", "st", "street", "o", "ou", "title", "description", "givenname",
    "initials", "generationqualifier", "dnqualifier", "pseudonym", "emailaddress", "uid", "dc",
};

static const char *field_get(const identity *id, const char *name) {
    for (int i = 0; i < id->nfields; i++) if (strcmp(id->fields[i].name, name) == 0) return id->fields[i].value;
    return NULL;
}
static void field_set(identity *id, const char *name, const char *value) {
    for (int i = 0; i < id->nfields; i++) if (strcmp(id->fields[i].name, name) == 0) { id->fields[i].value = value; return; }
    if (id->nfields < MAX_FIELDS) id->fields[id->nfields++] = (field){name, value};
}
static const char *non_empty(const char *s) { return s && *s ? s : NULL; }

static int read_identity(identity *id) {
    const char *verify = getenv("SSL_CLIENT_VERIFY");
    if (!verify) verify = "NONE";
    if (strcmp(verify, "SUCCESS") != 0)
        return refuse(403, "certificate not verified", "SSL_CLIENT_VERIFY=%.80s", verify);
    memset(id, 0, sizeof *id);
    char var[64];
    for (size_t i = 0; i < sizeof SUFFIXES / sizeof SUFFIXES[0]; i++) {
        snprintf(var, sizeof var, "SSL_CLIENT_S_DN_%s", SUFFIXES[i].suffix);
        const char *v = getenv(var);
        if (v) field_set(id, SUFFIXES[i].name, v);
    }
    const char *check[4] = {"l", "st", "sn", "cn"};
    for (int i = 0; i < 4; i++) {
        const char *v = field_get(id, check[i]);
        if (v && strcasecmp(v, "ciscogeneric") == 0)
            return refuse(403, "generic certificate", "the pre-2.0 ciscogeneric certificate identifies no phone");
    }
    const char *cn = field_get(id, "cn");
    const char *sep = NULL;
    if (cn) for (const char *p = cn; *p; p++) if (strncasecmp(p, "SEP", 3) == 0) sep = p;
    if (cn && sep && parse_mac(sep + 3, strlen(sep + 3), id->mac)) {
        const char *sn = field_get(id, "serialnumber");
        static char product[128], serial[128];
        product[0] = serial[0] = 0;
        int have_product = 0, have_serial = 0;
        if (sn) {
            const char *p = sn;
            while (*p) {
                while (*p == ' ') p++;
                const char *e = p;
                while (*e && *e != ' ') e++;
                if (e - p >= 4 && strncmp(p, "PID:", 4) == 0) { snprintf(product, sizeof product, "%.*s", (int)(e - p - 4), p + 4); have_product = 1; }
                if (e - p >= 3 && strncmp(p, "SN:", 3) == 0) { snprintf(serial, sizeof serial, "%.*s", (int)(e - p - 3), p + 3); have_serial = 1; }
                p = e;
            }
        }
        if (!have_product) {
            size_t len = (size_t)(sep - cn);
            if (len > 0 && cn[len - 1] == '-') len--;
            snprintf(product, sizeof product, "%.*s", (int)len, cn);
        }
        id->model = non_empty(product);
        id->serial = have_serial ? non_empty(serial) : NULL;
        return 0;
    }
    const char *mac_text = non_empty(field_get(id, "st"));
    if (!mac_text) mac_text = non_empty(field_get(id, "sn"));
    if (!mac_text) {
        if (cn && sep) return refuse(403, "malformed MAC in certificate", "CN=%.80s", cn);
        return refuse(403, "no MAC in certificate", "subject has neither ST/S nor CN=...-SEP<MAC>");
    }
    if (!parse_mac(mac_text, strlen(mac_text), id->mac))
        return refuse(403, "malformed MAC in certificate", "ST=%.80s", mac_text);
    id->serial = non_empty(field_get(id, "l"));
    id->model = non_empty(field_get(id, "ou"));
    return 0;
}

/* ---- the request (ProfileRequest.swift) ---- */
enum form { XML, GZ, CFG };
static const char *FORM_NAMES[] = {"xml", "gz", "cfg"};
typedef struct { int head; enum form form; int has_named; char named[13]; } request;

static int read_request(request *rq) {
    const char *method = getenv("REQUEST_METHOD");
    if (!method) method = "GET";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return refuse(405, "method not allowed", "method %.16s", method);
    rq->head = strcmp(method, "HEAD") == 0;
    const char *path = getenv("PATH_INFO");
    if (!path) path = "";
    /* the last non-empty segment */
    const char *end = path + strlen(path);
    while (end > path && end[-1] == '/') end--;
    const char *start = end;
    while (start > path && start[-1] != '/') start--;
    size_t n = (size_t)(end - start);
    const char *dot = NULL;
    for (const char *p = start; p < end; p++) if (*p == '.') dot = p;
    size_t stem = n;
    if (dot && dot != start) {
        char ending[17];
        size_t elen = (size_t)(end - dot - 1);
        snprintf(ending, sizeof ending, "%.*s", (int)(elen > 16 ? 16 : elen), dot + 1);
        for (char *c = ending; *c; c++) *c = (char)tolower((unsigned char)*c);
        if (elen == 3 && strcmp(ending, "xml") == 0) rq->form = XML;
        else if (elen == 2 && strcmp(ending, "gz") == 0) rq->form = GZ;
        else if (elen == 3 && strcmp(ending, "cfg") == 0) rq->form = CFG;
        else return refuse(404, "unsupported file type", "ending .%s", ending);
        stem = (size_t)(dot - start);
        if (rq->form != XML && stem >= 4 && strncasecmp(start + stem - 4, ".xml", 4) == 0) stem -= 4;
    } else {
        rq->form = XML;
    }
    rq->has_named = mac_in_file_name(start, stem, rq->named);
    return 0;
}

/* ---- the device row ---- */
typedef struct {
    char mac[13];
    char *serial, *model, *group, *key;
    int enabled, gzip, aes, md5;
} device;

static char *column(sqlite3_stmt *s, int i) {
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? dup_n(t, (size_t)sqlite3_column_bytes(s, i)) : NULL;
}

/* ---- settings and variables ---- */
typedef struct { char *name; size_t nlen; char *value; size_t vlen; int rank; char ua[3]; int has_ua; } row;
typedef struct { row *r; size_t n, cap; } rows;
static void push(rows *v, row r) {
    if (v->n == v->cap) { v->cap = v->cap ? v->cap * 2 : 64; v->r = realloc(v->r, v->cap * sizeof(row)); }
    v->r[v->n++] = r;
}
static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an < bn ? -1 : an > bn);
}
static int by_name_then_rank(const void *x, const void *y) {
    const row *a = x, *b = y;
    int c = bytes_cmp(a->name, a->nlen, b->name, b->nlen);
    return c ? c : a->rank - b->rank;
}
static int scope_rank(const char *kind, const char *target) {
    if (strcmp(kind, "default") == 0) return 0;
    if (!*target) return -1;
    if (strcmp(kind, "model") == 0) return 1;
    if (strcmp(kind, "group") == 0) return 2;
    if (strcmp(kind, "device") == 0) { char m[13]; return parse_mac(target, strlen(target), m) ? 3 : -1; }
    return -1;
}

/* ---- {{variables}} (ResolvedSettings.swift, Variables) ---- */
typedef struct {
    const device *dev;
    const identity *id;
    rows vars; /* sorted by name, one per name: the highest scope's */
    char mac_upper[13], mac_colon[18];
} context;

static int expand(const context *cx, const char *s, size_t n, int depth, buf *out);

static const row *find_var(const context *cx, const char *name, size_t n) {
    size_t lo = 0, hi = cx->vars.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = bytes_cmp(cx->vars.r[mid].name, cx->vars.r[mid].nlen, name, n);
        if (c == 0) return &cx->vars.r[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

static int lookup(const context *cx, const char *name, size_t n, int depth, buf *out) {
    const device *d = cx->dev;
    const identity *id = cx->id;
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
    const char *builtin = NULL;
    if (IS("mac")) builtin = d->mac;
    else if (IS("mac_upper")) builtin = cx->mac_upper;
    else if (IS("mac_colon")) builtin = cx->mac_colon;
    else if (IS("serial")) builtin = d->serial ? d->serial : id->serial ? id->serial : "";
    else if (IS("model")) builtin = d->model ? d->model : id->model ? id->model : "";
    else if (IS("group")) builtin = d->group ? d->group : "";
#undef IS
    if (builtin) { puts_(out, builtin); return 0; }
    if (n >= 5 && memcmp(name, "cert.", 5) == 0) {
        char f[128];
        size_t fl = n - 5 < sizeof f - 1 ? n - 5 : sizeof f - 1;
        for (size_t i = 0; i < fl; i++) f[i] = (char)tolower((unsigned char)name[5 + i]);
        f[fl] = 0;
        const char *v = field_get(id, f);
        if (v) { puts_(out, v); return 0; }
        for (size_t i = 0; i < sizeof KNOWN_FIELDS / sizeof KNOWN_FIELDS[0]; i++)
            if (strcmp(KNOWN_FIELDS[i], f) == 0) return 0;
        return SERVER_ERROR("undefined variable {{%.*s}}", (int)n, name);
    }
    const row *v = find_var(cx, name, n);
    if (!v) return SERVER_ERROR("undefined variable {{%.*s}}", (int)n, name);
    return expand(cx, v->value, v->vlen, depth + 1, out);
}

static int expand(const context *cx, const char *s, size_t n, int depth, buf *out) {
    if (depth > 8) return SERVER_ERROR("variables nest deeper than 8 (a loop?)");
    size_t i = 0;
    while (i < n) {
        if (s[i] == '{' && i + 1 < n && s[i + 1] == '{') {
            size_t close = 0;
            int found = 0;
            for (size_t j = i + 2; j + 1 < n; j++) {
                if (s[j] == '}' && s[j + 1] == '}') { close = j; found = 1; break; }
                if (s[j] == '{' && s[j + 1] == '{') break;
            }
            if (found) {
                size_t a = i + 2, b = close;
                while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
                while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
                if (lookup(cx, s + a, b - a, depth, out) < 0) return -1;
                i = close + 2;
                continue;
            }
        }
        putc_(out, (unsigned char)s[i]);
        i++;
    }
    return 0;
}

/* ---- XML (FlatProfile.swift) ---- */
static int valid_name(const char *s, size_t n) {
    if (n == 0 || n > 128) return 0;
#define LETTER(c) ((((unsigned char)(c) | 0x20) >= 'a') && (((unsigned char)(c) | 0x20) <= 'z'))
    if (!LETTER(s[0]) && s[0] != '_') return 0;
    if (n >= 3 && strncasecmp(s, "xml", 3) == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(LETTER(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) return 0;
    }
#undef LETTER
    return 1;
}

/* Decodes UTF-8 as Swift's String(decoding:as: UTF8.self) does (each maximal ill-formed subpart becomes
   U+FFFD), and escapes each scalar as XMLText.appendEscaped does. */
static void append_escaped(buf *out, const unsigned char *s, size_t n) {
    static const unsigned char FFFD[3] = {0xEF, 0xBF, 0xBD};
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            switch (c) {
            case '&': put(out, "&amp;", 5); break;
            case '<': put(out, "&lt;", 4); break;
            case '>': put(out, "&gt;", 4); break;
            case '"': put(out, "&quot;", 6); break;
            case '\'': put(out, "&apos;", 6); break;
            default:
                if (c >= 0x20 || c == 0x9 || c == 0xA || c == 0xD) putc_(out, c);
                else put(out, FFFD, 3);
            }
            i++;
            continue;
        }
        int need;
        uint32_t cp;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else { put(out, FFFD, 3); i++; continue; }
        size_t j = i + 1;
        int ok = 1;
        for (int k = 0; k < need; k++, j++) {
            if (j >= n || s[j] < lo || s[j] > hi) { ok = 0; break; }
            cp = (cp << 6) | (s[j] & 0x3F);
            lo = 0x80; hi = 0xBF;
        }
        if (!ok) { put(out, FFFD, 3); i = j; continue; }
        /* XML 1.0 allows U+0020-U+D7FF, U+E000-U+FFFD, U+10000 and up (surrogates cannot decode) */
        if (cp == 0xFFFE || cp == 0xFFFF) put(out, FFFD, 3);
        else put(out, s + i, j - i);
        i = j;
    }
}

/* ---- encodings (Gzip.swift, OpenSSLEnc.swift) ---- */
static int gzip(const buf *in, buf *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return SERVER_ERROR("deflateInit2 failed");
    size_t bound = deflateBound(&z, in->n);
    reserve(out, bound);
    z.next_in = in->p;
    z.avail_in = (uInt)in->n;
    z.next_out = out->p;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->n = bound - z.avail_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : SERVER_ERROR("deflate failed (%d)", rc);
}

static int aes_enc(const buf *plain, const char *pass, int md5, buf *out) {
    unsigned char salt[8];
    size_t got = 0;
    while (got < 8) {
        ssize_t r = getrandom(salt + got, 8 - got, 0);
        if (r < 0) { if (errno == EINTR) continue; return SERVER_ERROR("getrandom failed"); }
        got += (size_t)r;
    }
    /* EVP_BytesToKey, count 1: D_i = H(D_{i-1} || pass || salt) */
    unsigned char material[64], prev[32];
    size_t have = 0, plen = 0, passlen = strlen(pass);
    while (have < 48) {
        if (md5) {
            MD5_CTX c; MD5_Init(&c);
            MD5_Update(&c, prev, plen); MD5_Update(&c, pass, passlen); MD5_Update(&c, salt, 8);
            MD5_Final(prev, &c); plen = 16;
        } else {
            SHA256_CTX c; SHA256_Init(&c);
            SHA256_Update(&c, prev, plen); SHA256_Update(&c, pass, passlen); SHA256_Update(&c, salt, 8);
            SHA256_Final(prev, &c); plen = 32;
        }
        memcpy(material + have, prev, plen);
        have += plen;
    }
    AES_KEY key;
    if (AES_set_encrypt_key(material, 256, &key) != 0) return SERVER_ERROR("AES_set_encrypt_key failed");
    unsigned char iv[16];
    memcpy(iv, material + 32, 16);
    size_t pad = 16 - plain->n % 16, total = plain->n + pad;
    unsigned char *padded = malloc(total);
    memcpy(padded, plain->p, plain->n);
    memset(padded + plain->n, (int)pad, pad);
    reserve(out, 16 + total);
    memcpy(out->p, "Salted__", 8);
    memcpy(out->p + 8, salt, 8);
    AES_cbc_encrypt(padded, out->p + 16, total, &key, iv, AES_ENCRYPT);
    out->n = 16 + total;
    free(padded);
    return 0;
}

/* ---- the whole answer ---- */
static sqlite3 *db;

static int prepare(const char *sql, sqlite3_stmt **s) {
    if (sqlite3_prepare_v3(db, sql, -1, 0, s, NULL) != SQLITE_OK)
        return SERVER_ERROR("database unavailable: SQLite error %d: %s", sqlite3_extended_errcode(db), sqlite3_errmsg(db));
    return 0;
}

/* Statements kept for the connection's life: prepared on first use, reset (not finalized) when done. A CGI
   process uses each once; a FastCGI process once per request. */
enum { STMT_VERSION, STMT_DEVICE, STMT_LAYERS, STMT_COUNT };
static sqlite3_stmt *kept[STMT_COUNT];
static int prepare_kept(int slot, const char *sql, sqlite3_stmt **s) {
    if (!kept[slot] && prepare(sql, &kept[slot]) < 0) return -1;
    *s = kept[slot];
    return 0;
}
static void done(sqlite3_stmt *s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}
/* After a request, whatever path it took: no statement left mid-step (which would keep a read transaction, and
   so an old snapshot, open until the next request). */
__attribute__((unused)) static void reset_kept(void) {
    for (int i = 0; i < STMT_COUNT; i++) if (kept[i]) sqlite3_reset(kept[i]);
}

static int records_seen(void) {
    const char *record = getenv("PROVISIONER_RECORD_SEEN");
    return !(record && strcmp(record, "0") == 0);
}

#define SCHEMA_VERSION 10  /* 9 (settings.intent) and 10 (change sets): the reference reads neither; 7..10 are served */

/* The configuration database, strictly read-only (serving never writes it). */
static int open_database(const char *dbpath) {
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL) != SQLITE_OK) {
        refuse(500, "server error", "database unavailable: %s (%s)", db ? sqlite3_errmsg(db) : "cannot open", dbpath);
        sqlite3_close(db);
        db = NULL;
        return -1;
    }
    return 0;
}

/* The same statement as ConfigurationStore.layers: one OR per table, answered by a multi-index OR over the primary key. */
static const char *LAYERS_SQL =
    "SELECT 0, scope, target, name, value, ua FROM settings WHERE ((scope = 'default' AND target = '')\n"
    "    OR (scope = 'model' AND target = ?1) OR (scope = 'group' AND target = ?2) OR (scope = 'device' AND target = ?3))\n"
    "    AND part = ''\n"
    "UNION ALL\n"
    "SELECT 1, scope, target, name, value, NULL FROM variables WHERE (scope = 'default' AND target = '')\n"
    "    OR (scope = 'model' AND target = ?1) OR (scope = 'group' AND target = ?2) OR (scope = 'device' AND target = ?3)";

static void bind_opt(sqlite3_stmt *s, int i, const char *v) {
    if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT); else sqlite3_bind_null(s, i);
}

/* SHA-256 (hex) of the plaintext profile of the last 200, for the journal's `fetches` row. */
static char plaintext_sha256[2 * SHA256_DIGEST_LENGTH + 1];

static int answer(const char *dbpath, const request *rq, identity *id, device *d, buf *body) {
    if (rq->has_named && strcmp(rq->named, id->mac) != 0)
        return refuse(403, "MAC mismatch", "path names %s, certificate is %s", rq->named, id->mac);
    /* As profile-cgi: one connection, read-write only when it will record the `seen` row after the answer. */
    if (!db && open_database(dbpath) < 0) return -1;
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s;
    if (prepare_kept(STMT_VERSION, "PRAGMA user_version", &s) < 0) return -1;
    int version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    done(s);
    if (version < 7 || version > SCHEMA_VERSION)
        return SERVER_ERROR("database unavailable: schema version %d, this build needs %d", version, SCHEMA_VERSION);

    if (prepare_kept(STMT_DEVICE, "SELECT mac, serial, model, group_name, enabled, gzip, encryption, encryption_key, kdf_digest, "
                     "ece_key_id, ece_record_size, account_user, account_realm, account_ha1, bootstrap "
                     "FROM devices WHERE mac = ?1", &s) < 0) return -1;
    sqlite3_bind_text(s, 1, id->mac, 12, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        done(s);
        /* profile-cgi records a claim here; not part of the benchmark */
        return refuse(404, "unknown device", NULL);
    }
    if (rc != SQLITE_ROW) return SERVER_ERROR("database unavailable: SQLite error %d", sqlite3_extended_errcode(db));
    const unsigned char *m = sqlite3_column_text(s, 0);
    if (!m || !parse_mac((const char *)m, (size_t)sqlite3_column_bytes(s, 0), d->mac))
        return SERVER_ERROR("database unavailable: a device row has a malformed MAC");
    d->serial = column(s, 1);
    d->model = column(s, 2);
    d->group = column(s, 3);
    d->enabled = sqlite3_column_int(s, 4) != 0;
    d->gzip = sqlite3_column_int(s, 5) != 0;
    const unsigned char *enc = sqlite3_column_text(s, 6);
    d->key = column(s, 7);
    d->aes = enc && strcmp((const char *)enc, "aes-256-cbc") == 0 && d->key;
    const unsigned char *kdf = sqlite3_column_text(s, 8);
    d->md5 = kdf && strcmp((const char *)kdf, "md5") == 0;
    done(s);

    if (!d->enabled) return refuse(403, "device disabled", NULL);
    if (d->serial && strcasecmp(d->serial, id->serial ? id->serial : "") != 0)
        return refuse(403, "serial mismatch", "stored %s, certificate %s", d->serial, id->serial ? id->serial : "none");
    if (d->model && strcasecmp(d->model, id->model ? id->model : "") != 0)
        return refuse(403, "model mismatch", "stored %s, certificate %s", d->model, id->model ? id->model : "none");

    /* layers */
    if (prepare_kept(STMT_LAYERS, LAYERS_SQL, &s) < 0) return -1;
    bind_opt(s, 1, d->model ? d->model : id->model);
    bind_opt(s, 2, d->group);
    sqlite3_bind_text(s, 3, d->mac, 12, SQLITE_STATIC);
    rows settings = {0}, vars = {0};
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 1);
        const char *target = (const char *)sqlite3_column_text(s, 2);
        int rank = scope_rank(kind ? kind : "", target ? target : "");
        if (rank < 0) continue;
        row r = {0};
        r.rank = rank;
        r.name = column(s, 3);
        r.nlen = (size_t)sqlite3_column_bytes(s, 3);
        r.value = column(s, 4);
        r.vlen = (size_t)sqlite3_column_bytes(s, 4);
        if (!r.name) { r.name = dup_n("", 0); r.nlen = 0; }
        if (!r.value) { r.value = dup_n("", 0); r.vlen = 0; }
        if (sqlite3_column_int(s, 0) == 0) {
            const unsigned char *ua = sqlite3_column_text(s, 5);
            if (ua && (!strcmp((const char *)ua, "na") || !strcmp((const char *)ua, "ro") || !strcmp((const char *)ua, "rw"))) {
                memcpy(r.ua, ua, 3);
                r.has_ua = 1;
            }
            push(&settings, r);
        } else {
            push(&vars, r);
        }
    }
    if (rc != SQLITE_DONE) return SERVER_ERROR("reading settings: SQLite error %d", sqlite3_extended_errcode(db));
    done(s);

    /* variables: one per name, the highest scope's */
    context cx = {.dev = d, .id = id};
    qsort(vars.r, vars.n, sizeof(row), by_name_then_rank);
    for (size_t i = 0; i < vars.n; i++) {
        if (i + 1 < vars.n && bytes_cmp(vars.r[i].name, vars.r[i].nlen, vars.r[i + 1].name, vars.r[i + 1].nlen) == 0) continue;
        push(&cx.vars, vars.r[i]);
    }
    for (int i = 0; i < 12; i++) cx.mac_upper[i] = (char)toupper((unsigned char)d->mac[i]);
    for (int i = 0, k = 0; i < 12; i++) { if (i && i % 2 == 0) cx.mac_colon[k++] = ':'; cx.mac_colon[k++] = d->mac[i]; cx.mac_colon[17] = 0; }

    /* merge default -> model -> group -> device and render, in name order */
    qsort(settings.r, settings.n, sizeof(row), by_name_then_rank);
    buf xml = {0}, value = {0};
    reserve(&xml, 64 + settings.n * 48);
    puts_(&xml, "<flat-profile>\n");
    for (size_t i = 0; i < settings.n;) {
        size_t j = i;
        const char *ua = NULL;
        while (j < settings.n && bytes_cmp(settings.r[j].name, settings.r[j].nlen, settings.r[i].name, settings.r[i].nlen) == 0) {
            if (settings.r[j].has_ua) ua = settings.r[j].ua;
            j++;
        }
        const row *win = &settings.r[j - 1];
        if (!valid_name(win->name, win->nlen))
            return SERVER_ERROR("parameter name \"%.64s\" is not a valid XML name", win->name);
        value.n = 0;
        if (expand(&cx, win->value, win->vlen, 0, &value) < 0) return -1;
        puts_(&xml, "  <");
        put(&xml, win->name, win->nlen);
        if (ua) { puts_(&xml, " ua=\""); puts_(&xml, ua); putc_(&xml, '"'); }
        if (value.n == 0) {
            puts_(&xml, "/>\n");
        } else {
            putc_(&xml, '>');
            append_escaped(&xml, value.p, value.n);
            puts_(&xml, "</");
            put(&xml, win->name, win->nlen);
            puts_(&xml, ">\n");
        }
        i = j;
    }
    puts_(&xml, "</flat-profile>\n");
    /* As profile-cgi: the plaintext's SHA-256 only when the journal will record it, with the low-level calls
       (OpenSSL 3's one-shot SHA256() fetches a provider first: 5.4M instructions per process). */
    if (records_seen()) {
        unsigned char digest[SHA256_DIGEST_LENGTH];
        SHA256_CTX c; SHA256_Init(&c); SHA256_Update(&c, xml.p, xml.n); SHA256_Final(digest, &c);
        for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(plaintext_sha256 + 2 * i, 3, "%02x", digest[i]);
    }

    switch (rq->form) {
    case XML: *body = xml; return 0;
    case GZ: return gzip(&xml, body);
    case CFG: {
        if (!d->aes) return refuse(404, "no encryption configured", "device %s has encryption none", d->mac);
        if (!d->gzip) return aes_enc(&xml, d->key, d->md5, body);
        buf z = {0};
        if (gzip(&xml, &z) < 0) return -1;
        return aes_enc(&z, d->key, d->md5, body);
    }
    }
    return SERVER_ERROR("unknown form");
}

__attribute__((unused)) static void write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static const char *reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    default: return "Error";
    }
}

/* What the journal records of one request, copied out while the request's variables exist (Bookkeeping). */
typedef struct {
    long long at;                 /* unix microseconds */
    int status, seen;
    long long bytes, micros;
    char mac[13], serial[257], model[257], cert_serial[129], firmware[65], addr[257], method[17], path[513];
    char reason[64], form[4], sha256[65];
    int has_mac, has_serial, has_model, has_cert_serial, has_firmware, has_addr, has_path, has_form, has_sha256;
} fetch_record;

static void copy_field(char *to, size_t size, const char *from, int *has) {
    *has = from != NULL;
    snprintf(to, size, "%s", from ? from : "");
}

/* One request: the HTTP answer (CGI headers and body) in *out, the log line (with its newline) in *log, and what
   the journal records of it in *rec. Returns 1 on a 200. */
static int handle(const char *dbpath, device *d, buf *out, buf *log, fetch_record *rec) {
    struct timespec started, finished;
    clock_gettime(CLOCK_MONOTONIC, &started);
    memset(&R, 0, sizeof R);
    request rq = {0};
    identity id;
    memset(&id, 0, sizeof id);
    memset(d, 0, sizeof *d);
    buf body = {0};
    int ok = read_request(&rq) == 0 && read_identity(&id) == 0 && answer(dbpath, &rq, &id, d, &body) == 0;
    int status = ok ? 200 : R.status;
    const char *method = getenv("REQUEST_METHOD");
    int head = method && strcmp(method, "HEAD") == 0;

    char line[1024];
    if (!ok) {
        body.n = 0;
        puts_(&body, R.reason);
        putc_(&body, '\n');
        snprintf(line, sizeof line, "Status: %d %s\r\n", status, reason_phrase(status));
        puts_(out, line);
    }
    snprintf(line, sizeof line, "Content-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n",
             !ok ? "text/plain; charset=utf-8" : rq.form == XML ? "text/xml; charset=utf-8" : "application/octet-stream",
             body.n);
    puts_(out, line);
    if (status == 405) puts_(out, "Allow: GET, HEAD\r\n");
    puts_(out, "\r\n");
    if (!head) put(out, body.p, body.n);
    clock_gettime(CLOCK_MONOTONIC, &finished);
    long us = (finished.tv_sec - started.tv_sec) * 1000000L + (finished.tv_nsec - started.tv_nsec) / 1000;
    const char *addr = getenv("REMOTE_ADDR");
    const char *path = getenv("PATH_INFO");
    int n = snprintf(line, sizeof line, "ref-cgi: status=%d reason=\"%s\" mac=%s serial=%s model=%s addr=%s method=%s path=%s form=%s bytes=%zu us=%ld%s%s%s\n",
            status, ok ? "ok" : R.reason, id.mac[0] ? id.mac : "-", id.serial ? id.serial : "-", id.model ? id.model : "-",
            addr ? addr : "-", method ? method : "-", path ? path : "-", FORM_NAMES[rq.form], body.n, us,
            !ok && R.detail[0] ? " detail=\"" : "", !ok && R.detail[0] ? R.detail : "", !ok && R.detail[0] ? "\"" : "");
    put(log, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);

    /* The journal's record (Bookkeeping.init and served). */
    struct timeval now;
    gettimeofday(&now, NULL);
    rec->at = (long long)now.tv_sec * 1000000 + now.tv_usec;
    rec->status = status;
    rec->bytes = (long long)body.n;
    rec->micros = us;
    copy_field(rec->mac, sizeof rec->mac, id.mac[0] ? id.mac : NULL, &rec->has_mac);
    copy_field(rec->serial, sizeof rec->serial, id.serial, &rec->has_serial);
    copy_field(rec->model, sizeof rec->model, id.model, &rec->has_model);
    copy_field(rec->cert_serial, sizeof rec->cert_serial, getenv("SSL_CLIENT_M_SERIAL"), &rec->has_cert_serial);
    const char *ua = getenv("HTTP_USER_AGENT");
    const char *slash = ua ? strchr(ua, '/') : NULL;
    rec->has_firmware = slash != NULL;
    if (slash) { size_t k = strcspn(slash + 1, " ("); snprintf(rec->firmware, sizeof rec->firmware, "%.*s", (int)k, slash + 1); }
    copy_field(rec->addr, sizeof rec->addr, addr, &rec->has_addr);
    snprintf(rec->method, sizeof rec->method, "%s", method ? method : "GET");
    copy_field(rec->path, sizeof rec->path, path, &rec->has_path);
    snprintf(rec->reason, sizeof rec->reason, "%s", ok ? "ok" : R.reason);
    copy_field(rec->form, sizeof rec->form, ok ? FORM_NAMES[rq.form] : NULL, &rec->has_form);
    copy_field(rec->sha256, sizeof rec->sha256, ok ? plaintext_sha256 : NULL, &rec->has_sha256);
    rec->seen = ok && rec->has_mac;
    return ok;
}

/* ---- the journal (Journal.swift) ---- */
static sqlite3 *journal;
static sqlite3_stmt *journal_fetch, *journal_seen;
static char journal_path[4096], lost_path[128], node[256];

/* Journal.schema, version 3: the same tables, columns and indexes (JournalSchemaTests checks this literal against
   the writer's definition; `trusted` is left NULL here, which readers take as "a certificate was presented"). */
static const char *JOURNAL_SCHEMA =
    "CREATE TABLE IF NOT EXISTS fetches (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, node TEXT NOT NULL, mac TEXT,\n"
    "    serial TEXT, model TEXT, cert_sha256 TEXT, cert_serial TEXT, firmware TEXT, remote_addr TEXT, method TEXT,\n"
    "    path TEXT, form TEXT, status INTEGER NOT NULL, reason TEXT NOT NULL, sha256 TEXT, bytes INTEGER NOT NULL,\n"
    "    micros INTEGER NOT NULL, trusted INTEGER);\n"
    "CREATE INDEX IF NOT EXISTS fetches_by_mac ON fetches (mac, at);\n"
    "CREATE INDEX IF NOT EXISTS fetches_by_at ON fetches (at);\n"
    "CREATE TABLE IF NOT EXISTS seen (mac TEXT NOT NULL PRIMARY KEY, node TEXT NOT NULL, first_seen INTEGER NOT NULL,\n"
    "    last_seen INTEGER NOT NULL, remote_addr TEXT, firmware TEXT, count INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS claims (mac TEXT NOT NULL PRIMARY KEY, node TEXT NOT NULL, serial TEXT, model TEXT,\n"
    "    remote_addr TEXT, user_agent TEXT, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,\n"
    "    count INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS lost (node TEXT NOT NULL, what TEXT NOT NULL, count INTEGER NOT NULL,\n"
    "    first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, PRIMARY KEY (node, what)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS reports (mac TEXT NOT NULL PRIMARY KEY, node TEXT NOT NULL, at INTEGER NOT NULL,\n"
    "    name TEXT, remote_addr TEXT, encoding TEXT NOT NULL, received_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,\n"
    "    body BLOB NOT NULL) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS phone_log (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, mac TEXT NOT NULL,\n"
    "    kind TEXT NOT NULL, message TEXT NOT NULL, host TEXT, imported_at INTEGER NOT NULL, UNIQUE (mac, at, message));\n"
    "CREATE INDEX IF NOT EXISTS phone_log_by_at ON phone_log (at);\n"
    "CREATE TABLE IF NOT EXISTS retention (id INTEGER PRIMARY KEY CHECK (id = 1), max_age_days INTEGER NOT NULL,\n"
    "    max_per_device INTEGER NOT NULL, set_at INTEGER NOT NULL, set_by TEXT);\n"
    "PRAGMA user_version = 3;";

/* Where the journal is and whose rows these are (Configuration: PROVISIONER_JOURNAL, PROVISIONER_NODE). */
static void journal_configure(const char *dbpath) {
    const char *configured = getenv("PROVISIONER_JOURNAL");
    if (configured && *configured) {
        snprintf(journal_path, sizeof journal_path, "%s", configured);
    } else {
        const char *slash = strrchr(dbpath, '/');
        if (slash) snprintf(journal_path, sizeof journal_path, "%.*s/journal.db", (int)(slash - dbpath), dbpath);
        else snprintf(journal_path, sizeof journal_path, "journal.db");
    }
    const char *name = getenv("PROVISIONER_NODE");
    if (name && *name) snprintf(node, sizeof node, "%s", name);
    else if (gethostname(node, sizeof node - 1) != 0) snprintf(node, sizeof node, "localhost");
    /* LostCounter: a file in /dev/shm named by the journal folder's device and inode. */
    char folder[4096];
    const char *slash = strrchr(journal_path, '/');
    snprintf(folder, sizeof folder, "%.*s", slash ? (int)(slash - journal_path) : 1, slash ? journal_path : ".");
    struct stat st;
    if (stat(folder, &st) == 0)
        snprintf(lost_path, sizeof lost_path, "/dev/shm/provisioner-lost-%llu-%llu",
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

static int journal_open(int wait_ms) {
    if (journal) { sqlite3_busy_timeout(journal, wait_ms); return 0; }
    if (sqlite3_open_v2(journal_path, &journal, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sqlite3_close(journal);
        journal = NULL;
        return -1;
    }
    sqlite3_busy_timeout(journal, wait_ms);
    sqlite3_stmt *v;
    int version = 0;
    if (sqlite3_prepare_v2(journal, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK) {
        if (sqlite3_step(v) == SQLITE_ROW) version = sqlite3_column_int(v, 0);
        sqlite3_finalize(v);
    }
    /* A new journal gets the whole schema; an older one (profile-cgi migrates it) has every column written here. */
    if (version == 0) {
        sqlite3_exec(journal, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (sqlite3_exec(journal, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(journal, JOURNAL_SCHEMA, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(journal, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(journal, "ROLLBACK", NULL, NULL, NULL);
            sqlite3_close(journal);
            journal = NULL;
            return -1;
        }
    }
    sqlite3_exec(journal, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if (sqlite3_prepare_v3(journal,
            "INSERT INTO fetches (at, node, mac, serial, model, cert_sha256, cert_serial, firmware, remote_addr, method,\n"
            "    path, form, status, reason, sha256, bytes, micros)\n"
            "VALUES (?1, ?2, ?3, substr(?4, 1, 256), substr(?5, 1, 256), ?6, substr(?7, 1, 128), substr(?8, 1, 64),\n"
            "    substr(?9, 1, 256), substr(?10, 1, 16), substr(?11, 1, 512), ?12, ?13, ?14, ?15, ?16, ?17)",
            -1, 0, &journal_fetch, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(journal,
            "INSERT INTO seen (mac, node, first_seen, last_seen, remote_addr, firmware, count)\n"
            "VALUES (?1, ?2, ?3, ?3, substr(?4, 1, 256), substr(?5, 1, 64), 1)\n"
            "ON CONFLICT (mac) DO UPDATE SET node = excluded.node, last_seen = excluded.last_seen,\n"
            "    remote_addr = excluded.remote_addr, firmware = excluded.firmware, count = count + 1",
            -1, 0, &journal_seen, NULL) != SQLITE_OK) {
        sqlite3_close(journal);
        journal = NULL;
        return -1;
    }
    return 0;
}

static void bind_field(sqlite3_stmt *s, int i, const char *v, int has) {
    if (has) sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC); else sqlite3_bind_null(s, i);
}

/* As Journal.write: one transaction with the fetch row and, on a 200, the seen row; a lost record is dropped
   (profile-cgi counts it). Then the log is checkpointed and truncated once past 64 frames. */
static void journal_write(const fetch_record *r, int wait_ms) {
    if (journal_open(wait_ms) < 0) return;
    if (sqlite3_exec(journal, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return;
    sqlite3_stmt *f = journal_fetch;
    sqlite3_reset(f);
    sqlite3_bind_int64(f, 1, r->at);
    sqlite3_bind_text(f, 2, node, -1, SQLITE_STATIC);
    bind_field(f, 3, r->mac, r->has_mac);
    bind_field(f, 4, r->serial, r->has_serial);
    bind_field(f, 5, r->model, r->has_model);
    sqlite3_bind_null(f, 6);
    bind_field(f, 7, r->cert_serial, r->has_cert_serial);
    bind_field(f, 8, r->firmware, r->has_firmware);
    bind_field(f, 9, r->addr, r->has_addr);
    sqlite3_bind_text(f, 10, r->method, -1, SQLITE_STATIC);
    bind_field(f, 11, r->path, r->has_path);
    bind_field(f, 12, r->form, r->has_form);
    sqlite3_bind_int(f, 13, r->status);
    sqlite3_bind_text(f, 14, r->reason, -1, SQLITE_STATIC);
    bind_field(f, 15, r->sha256, r->has_sha256);
    sqlite3_bind_int64(f, 16, r->bytes);
    sqlite3_bind_int64(f, 17, r->micros);
    int ok = sqlite3_step(f) == SQLITE_DONE;
    if (ok && r->seen) {
        sqlite3_stmt *w = journal_seen;
        sqlite3_reset(w);
        sqlite3_bind_text(w, 1, r->mac, 12, SQLITE_STATIC);
        sqlite3_bind_text(w, 2, node, -1, SQLITE_STATIC);
        sqlite3_bind_int64(w, 3, r->at / 1000000);
        bind_field(w, 4, r->addr, r->has_addr);
        bind_field(w, 5, r->firmware, r->has_firmware);
        ok = sqlite3_step(w) == SQLITE_DONE;
        sqlite3_reset(w);
    }
    sqlite3_reset(f);
    /* Journal.foldLost: the lost counter's file, if any. */
    struct stat st;
    if (lost_path[0]) (void)stat(lost_path, &st);
    sqlite3_exec(journal, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", journal_path);
    if (stat(wal, &st) == 0 && st.st_size > 32 + 64 * (24 + 4096))
        sqlite3_wal_checkpoint_v2(journal, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

static const char *database_path(void) {
    const char *dbpath = getenv("PROVISIONER_DB");
    return dbpath && *dbpath ? dbpath : "/var/lib/provisioner/provisioner.db";
}

#ifndef REF_NO_MAIN
int main(void) {
    /* As profile-cgi does (SQLiteDatabase.configureForSingleThread): one thread, no mutexes, no memory stats. */
    if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) == SQLITE_OK) sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    const char *dbpath = database_path();
    device d;
    buf out = {0}, log = {0};
    fetch_record rec;
    handle(dbpath, &d, &out, &log, &rec);
    write_all(1, out.p, out.n);
    write_all(2, log.p, log.n);
    /* As profile-cgi: the log line first, both pipes closed, then the journal (waiting at most 250 ms for its
       lock, PROVISIONER_JOURNAL_WAIT_MS's default for the CGI). */
    close(1);
    close(2);
    if (records_seen()) {
        journal_configure(dbpath);
        journal_write(&rec, 250);
    }
    /* As profile-cgi: no sqlite3_close. Closing the last connection checkpoints the whole log with fsyncs on
       every request; the process's exit releases the connection and its locks. */
    return 0;
}
#endif
