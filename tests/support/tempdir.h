/* tempdir.h: throw-away directories for tests, removed with everything inside. */
#ifndef BILLORD_TESTS_TEMPDIR_H
#define BILLORD_TESTS_TEMPDIR_H

#include <stddef.h>

#define TEMPDIR_PATH_BYTES 256u

/** Create a fresh directory under $TMPDIR (or /tmp); aborts the test on failure. */
void tempdir_make(char path_out[TEMPDIR_PATH_BYTES]);
/** Remove the directory and everything in it (no-op for ""). */
void tempdir_remove(const char *path);
/** path_out = dir + "/" + name. */
void tempdir_join(char path_out[TEMPDIR_PATH_BYTES], const char *dir, const char *name);
/** Read a whole file into a malloc'd NUL-terminated buffer (caller frees); NULL on failure. */
char *tempdir_read_file(const char *path, size_t *out_bytes);
/** Path of a file in the source tree ($BILLORD_SOURCE_DIR or the compile-time one). */
void tempdir_source_path(char path_out[TEMPDIR_PATH_BYTES], const char *relative_path);

#endif
