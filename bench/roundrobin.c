/* bench/roundrobin.c: compares builds of a CGI program run by run.
 *
 *   gcc -O2 -o bench/out/roundrobin bench/roundrobin.c
 *   bench/out/roundrobin N PROGRAM... (with a phone's CGI environment exported)
 *
 * Runs each PROGRAM in turn, N times each (after 20 warm-up turns), stdout and stderr to /dev/null, and prints
 * the median wall time of each, with its ratio to the last PROGRAM. Turn by turn, a slow spell of the machine
 * reaches every program alike: this is how the README's before/after figures for a single change were measured
 * (hyperfine runs one program's block at a time). Copy the programs first (`cp`), all at the same moment: how a
 * file was written changes how fast it faults in (bench/README.md, "Installed copies"). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double run_once(const char *program, posix_spawn_file_actions_t *actions) {
    char *argv[] = { (char *)program, NULL };
    struct timespec start, end;
    pid_t pid;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (posix_spawn(&pid, program, actions, NULL, argv, environ) != 0) { perror(program); exit(1); }
    waitpid(pid, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: roundrobin N PROGRAM...\n"); return 2; }
    int n = atoi(argv[1]), k = argc - 2;
    if (n < 1) { fprintf(stderr, "roundrobin: N must be positive\n"); return 2; }
    double *times = malloc(sizeof(double) * n * k);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    for (int w = 0; w < 20; w++)
        for (int j = 0; j < k; j++) run_once(argv[2 + j], &actions);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < k; t++) {
            int j = (i + t) % k; /* who goes first rotates too */
            times[j * n + i] = run_once(argv[2 + j], &actions);
        }
    double last = 0;
    qsort(times + (k - 1) * n, n, sizeof(double), by_value);
    last = times[(k - 1) * n + n / 2];
    for (int j = 0; j < k; j++) {
        if (j < k - 1) qsort(times + j * n, n, sizeof(double), by_value);
        double median = times[j * n + n / 2];
        printf("%7.3f ms  x%5.2f  %s\n", median, median / last, argv[2 + j]);
    }
    return 0;
}
