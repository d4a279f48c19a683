/* Makes a process's fsync-family calls fail with EIO, to prove a Formica node stops on an
 * fsync error instead of carrying on (after a failed fsync the kernel may have dropped the
 * dirty pages, so a later successful fsync proves nothing; the only safe answer is to stop).
 *
 * Build: cc -shared -fPIC -O2 -o fsync-fail.so fsync-fail.c -ldl
 * Use:   LD_PRELOAD=./fsync-fail.so FORMICA_FSYNC_FAIL_AFTER=<n> formica node ...
 * The first <n> calls pass through; every later one fails. Without the variable nothing fails.
 * Used by the process test bin/formica/tests/it/fsync.rs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>

static atomic_long calls;

/* 1 when this call must fail, by the count in FORMICA_FSYNC_FAIL_AFTER. */
static int armed(void) {
    const char *after = getenv("FORMICA_FSYNC_FAIL_AFTER");
    if (after == NULL || *after == '\0') return 0;
    long limit = strtol(after, NULL, 10);
    return atomic_fetch_add(&calls, 1) >= limit;
}

int fsync(int fd) {
    static int (*real)(int);
    if (armed()) { errno = EIO; return -1; }
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (armed()) { errno = EIO; return -1; }
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}

int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags) {
    static int (*real)(int, off_t, off_t, unsigned int);
    if (armed()) { errno = EIO; return -1; }
    if (real == NULL) real = (int (*)(int, off_t, off_t, unsigned int))dlsym(RTLD_NEXT, "sync_file_range");
    return real(fd, offset, nbytes, flags);
}
