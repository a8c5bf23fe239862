/* hello-cgi: the smallest CGI, the floor under every CGI's per-request cost (issue 5). Static.
 * Build: gcc -O2 -static -o hello-cgi hello-cgi.c */
#include <unistd.h>

int main(void) {
    static const char answer[] =
        "Content-Type: text/plain\r\nContent-Length: 6\r\nCache-Control: no-store\r\n\r\nhello\n";
    const char *p = answer;
    size_t n = sizeof answer - 1;
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w <= 0) return 1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
