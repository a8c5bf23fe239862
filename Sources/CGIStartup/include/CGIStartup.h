// profile-cgi's stand-ins for the Swift runtime's command-line hooks: see CGIStartup.c.
#ifndef CGI_STARTUP_H
#define CGI_STARTUP_H
char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen);
void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc);
#endif
