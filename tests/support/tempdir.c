/* tempdir.c: throw-away directories for tests. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/tempdir.h"

void tempdir_make(char path_out[TEMPDIR_PATH_BYTES])
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    snprintf(path_out, TEMPDIR_PATH_BYTES, "%s/billord-test-XXXXXX", base);
    if (mkdtemp(path_out) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tempdir_remove(const char *path)
{
    if (path != NULL && path[0] != '\0') {
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

void tempdir_join(char path_out[TEMPDIR_PATH_BYTES], const char *dir, const char *name)
{
    int written = snprintf(path_out, TEMPDIR_PATH_BYTES, "%s/%s", dir, name);
    if (written < 0 || (size_t)written >= TEMPDIR_PATH_BYTES) {
        abort();
    }
}

char *tempdir_read_file(const char *path, size_t *out_bytes)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        return NULL;
    }
    char *buffer = NULL;
    size_t used = 0;
    size_t capacity = 0;
    for (;;) {
        if (used + 4096 + 1 > capacity) {
            capacity = capacity == 0 ? 8192 : capacity * 2;
            char *grown = realloc(buffer, capacity);
            if (grown == NULL) {
                free(buffer);
                fclose(file);
                return NULL;
            }
            buffer = grown;
        }
        size_t got = fread(buffer + used, 1, 4096, file);
        used += got;
        if (got < 4096) {
            break;
        }
    }
    fclose(file);
    buffer[used] = '\0';
    if (out_bytes != NULL) {
        *out_bytes = used;
    }
    return buffer;
}

void tempdir_source_path(char path_out[TEMPDIR_PATH_BYTES], const char *relative_path)
{
    const char *root = getenv("BILLORD_SOURCE_DIR");
    if (root == NULL || root[0] == '\0') {
        root = BILLORD_SOURCE_DIR_DEFAULT;
    }
    tempdir_join(path_out, root, relative_path);
}
