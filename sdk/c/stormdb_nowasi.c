/*
 * Optional: link this file to build a C plugin that imports no WASI at all.
 *
 * wasi-libc's stdio (pulled in by snprintf and friends) imports fd_write,
 * fd_seek and fd_close from wasi_snapshot_preview1; through the preview1
 * adapter those become wasi:filesystem imports, which `stormdb run
 * --strict-wasi` refuses. These definitions take the place of the imports
 * (wasm-ld prefers a definition to an import), so writing to stdout or a
 * file fails with ENOSYS instead. A plugin logs through sdb_log anyway.
 *
 * With this file the core module needs no adapter: `wasm-tools component
 * new core.wasm -o plugin.wasm` (the kv-c Makefile: `make NO_WASI=1`).
 */
#include <stdint.h>

#define SDB_WASI_ENOSYS 52

int32_t __imported_wasi_snapshot_preview1_fd_close(int32_t fd);
int32_t __imported_wasi_snapshot_preview1_fd_seek(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset);
int32_t __imported_wasi_snapshot_preview1_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten);

int32_t __imported_wasi_snapshot_preview1_fd_close(int32_t fd) {
    (void)fd;
    return SDB_WASI_ENOSYS;
}

int32_t __imported_wasi_snapshot_preview1_fd_seek(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset) {
    (void)fd, (void)offset, (void)whence, (void)newoffset;
    return SDB_WASI_ENOSYS;
}

int32_t __imported_wasi_snapshot_preview1_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten) {
    (void)fd, (void)iovs, (void)iovs_len, (void)nwritten;
    return SDB_WASI_ENOSYS;
}
