#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a function-pointer macro Swift cannot import: SQLite copies the bound bytes at once.
static inline sqlite3_destructor_type CSQLite_transient(void) { return SQLITE_TRANSIENT; }
/// A CGI has one thread and one short life: no mutexes, no memory statistics. sqlite3_config is variadic, which
/// Swift cannot call; it must run before the first connection opens. Returns SQLITE_OK or SQLITE_MISUSE.
static inline int CSQLite_configureSingleThread(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
    if (rc == SQLITE_OK) rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return rc;
}
#endif
