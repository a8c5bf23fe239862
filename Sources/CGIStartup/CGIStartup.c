// profile-cgi takes no command-line arguments, and Apache starts it once per request.
//
// On Linux the Swift runtime's CommandLine.cpp has a static initializer that finds argv by opening and parsing
// /proc/self/maps before main runs: about 43k instructions, four system calls and the kernel formatting the map,
// on every request, for arguments profile-cgi never reads. These two definitions stand in for that object's only
// two entry points, so the static linker resolves the Swift standard library's references here and never pulls
// CommandLine.cpp.o out of libswiftCore.a, and its initializer never runs. `CommandLine.arguments` would read as
// empty. (Should a toolchain move these hooks, the link fails with a duplicate symbol rather than misbehaving.)
#include "CGIStartup.h"

static char *no_arguments[] = { 0 };

char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    *outArgLen = 0;
    return no_arguments;
}

void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    (void)argv;
    (void)argc;
}
