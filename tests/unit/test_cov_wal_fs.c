/*
 * test_cov_wal_fs.c: the log's real file-system layer (src/wal/fs_posix.c) and its file
 * helpers (src/wal/wal_file.c) where the disk or the kernel does not do as asked.
 *
 * Why: the fault sweeps of test_wal_faults fail whole calls with EIO or ENOSPC. The
 * contract of billord/fs.h allows more: a signal interrupting a blocking call (EINTR is
 * retried, within a bound), short reads and writes, a write that makes no progress, a
 * file that is shorter or longer than it claimed, a directory that is not there. Each
 * test gives the real file system (or a thin wrapper of it that bends one call the way
 * fs.h allows) one of those and checks the answer: the return value and errno of the
 * table, the billord_err and error text of the helpers, and what is on disk afterwards.
 * Allocations fail on command through tests/support/faulty_alloc.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/fs.h>
#include <billord/wal.h>

#include "support/faulty_alloc.h"
#include "support/tempdir.h"
#include "wal/wal_internal.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

#define SMALL_SEGMENT_BYTES 4096u

static char dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    tempdir_make(dir);
}

static void teardown(void)
{
    tempdir_remove(dir);
}

TestSuite(cov_wal_fs, .init = setup, .fini = teardown, .timeout = 60);

static const billord_fs *posix(void)
{
    return billord_fs_posix();
}

static void write_file(const char *path, const void *bytes, size_t bytes_len)
{
    FILE *file = fopen(path, "wb");
    cr_assert(file != NULL, "fopen %s: %s", path, strerror(errno));
    cr_assert(eq(sz, fwrite(bytes, 1, bytes_len, file), bytes_len));
    cr_assert(eq(int, fclose(file), 0));
}

/* In dir: a path where nothing is, and a file of one byte. */
static void missing_and_file(char missing[TEMPDIR_PATH_BYTES], char file[TEMPDIR_PATH_BYTES])
{
    tempdir_join(missing, dir, "missing");
    tempdir_join(file, dir, "file");
    write_file(file, "x", 1);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    cr_assert(eq(int, stat(path, &st), 0), "stat %s", path);
    return (uint64_t)st.st_size;
}

/* ---- a wrapper of the real file system that bends one call as fs.h allows -------------- */

typedef struct bent_fs {
    billord_fs table;
    size_t pread_max_bytes;         /* 0: as asked; else at most this much per call */
    size_t pwrite_max_bytes;        /* 0: as asked; else at most this much per call */
    bool pwrite_no_progress;        /* pwrite returns 0 without writing */
    uint64_t size_extra_bytes;      /* size() claims this much more than there is */
    uint32_t listed_segment_names;  /* 0: list the directory; else report this many names */
    uint32_t pread_calls;
    uint32_t pwrite_calls;
} bent_fs;

static int bent_open(void *ctx, const char *path, int flags, uint32_t mode)
{
    (void)ctx;
    return posix()->open(posix()->fs_ctx, path, flags, mode);
}

static int bent_close(void *ctx, int fd)
{
    (void)ctx;
    return posix()->close(posix()->fs_ctx, fd);
}

static int64_t bent_pread(void *ctx, int fd, void *bytes, size_t bytes_len, int64_t offset_bytes)
{
    bent_fs *fs = ctx;
    fs->pread_calls++;
    if (fs->pread_max_bytes != 0 && bytes_len > fs->pread_max_bytes) {
        bytes_len = fs->pread_max_bytes;
    }
    return posix()->pread(posix()->fs_ctx, fd, bytes, bytes_len, offset_bytes);
}

static int64_t bent_pwrite(void *ctx, int fd, const void *bytes, size_t bytes_len,
                           int64_t offset_bytes)
{
    bent_fs *fs = ctx;
    fs->pwrite_calls++;
    if (fs->pwrite_no_progress) {
        return 0;
    }
    if (fs->pwrite_max_bytes != 0 && bytes_len > fs->pwrite_max_bytes) {
        bytes_len = fs->pwrite_max_bytes;
    }
    return posix()->pwrite(posix()->fs_ctx, fd, bytes, bytes_len, offset_bytes);
}

static int bent_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return posix()->fdatasync(posix()->fs_ctx, fd);
}

static int bent_fsync(void *ctx, int fd)
{
    (void)ctx;
    return posix()->fsync(posix()->fs_ctx, fd);
}

static int bent_ftruncate(void *ctx, int fd, int64_t length_bytes)
{
    (void)ctx;
    return posix()->ftruncate(posix()->fs_ctx, fd, length_bytes);
}

static int bent_fallocate(void *ctx, int fd, int64_t offset_bytes, int64_t length_bytes)
{
    (void)ctx;
    return posix()->fallocate(posix()->fs_ctx, fd, offset_bytes, length_bytes);
}

static int bent_size(void *ctx, int fd, uint64_t *out_bytes)
{
    bent_fs *fs = ctx;
    int result = posix()->size(posix()->fs_ctx, fd, out_bytes);
    if (result == 0) {
        *out_bytes += fs->size_extra_bytes;
    }
    return result;
}

static int bent_rename(void *ctx, const char *from_path, const char *to_path)
{
    (void)ctx;
    return posix()->rename(posix()->fs_ctx, from_path, to_path);
}

static int bent_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return posix()->unlink(posix()->fs_ctx, path);
}

static int bent_fsync_dir(void *ctx, const char *dir_path)
{
    (void)ctx;
    return posix()->fsync_dir(posix()->fs_ctx, dir_path);
}

static int bent_list_dir(void *ctx, const char *dir_path, billord_fs_entry_fn entry_fn,
                         void *entry_ctx)
{
    bent_fs *fs = ctx;
    if (fs->listed_segment_names == 0) {
        return posix()->list_dir(posix()->fs_ctx, dir_path, entry_fn, entry_ctx);
    }
    for (uint32_t i = 0; i < fs->listed_segment_names; i++) {
        char name[BILLORD_WAL_SEGMENT_NAME_BYTES];
        billord__wal_segment_name(1u + (uint64_t)i * 10u, name);
        if (entry_fn(entry_ctx, name) != 0) {
            break;
        }
    }
    return 0;
}

static int bent_is_dir(void *ctx, const char *path)
{
    (void)ctx;
    return posix()->is_dir(posix()->fs_ctx, path);
}

static void bent_init(bent_fs *fs)
{
    memset(fs, 0, sizeof *fs);
    fs->table = (billord_fs){
        .open = bent_open,
        .close = bent_close,
        .pread = bent_pread,
        .pwrite = bent_pwrite,
        .fdatasync = bent_fdatasync,
        .fsync = bent_fsync,
        .ftruncate = bent_ftruncate,
        .fallocate = bent_fallocate,
        .size = bent_size,
        .rename = bent_rename,
        .unlink = bent_unlink,
        .fsync_dir = bent_fsync_dir,
        .list_dir = bent_list_dir,
        .is_dir = bent_is_dir,
        .fs_ctx = fs,
    };
}

/* ---- fs_posix: EINTR -------------------------------------------------------------------- */

static atomic_uint signals_caught;

static void on_signal(int signal_number)
{
    (void)signal_number;
    atomic_fetch_add(&signals_caught, 1u);
}

/* Without SA_RESTART, a signal makes a blocked open(2) of a FIFO return EINTR. */
static void interrupt_blocking_calls_with_sigusr2(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    cr_assert(eq(int, sigaction(SIGUSR2, &action, NULL), 0));
}

typedef struct pester {
    pthread_t target;
    const char *fifo_path;
    uint32_t signals_before_writer;     /* 0: never open the writing end */
    atomic_bool stop;
} pester;

/* Signals the target thread every 200 us; then, if asked, opens the FIFO's writing end
 * (which lets the target's open of the reading end complete) and writes one byte. */
static void *pester_main(void *arg)
{
    pester *p = arg;
    for (uint32_t sent = 0; !atomic_load(&p->stop) && sent < 1000000u; sent++) {
        if (p->signals_before_writer != 0 && sent == p->signals_before_writer) {
            int fd = open(p->fifo_path, O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t put = write(fd, "x", 1);
                (void)put;
                close(fd);
            }
            break;
        }
        pthread_kill(p->target, SIGUSR2);
        usleep(200);
    }
    return NULL;
}

/* posix()->open of a FIFO's reading end, which blocks until a writer comes, while another
 * thread signals this one; the writer comes after signals_before_writer signals (0: never).
 * Returns the descriptor, *out_errno the errno after the open. */
static int open_fifo_while_signalled(uint32_t signals_before_writer, int *out_errno)
{
    char fifo[TEMPDIR_PATH_BYTES];
    tempdir_join(fifo, dir, "fifo");
    cr_assert(eq(int, mkfifo(fifo, 0600), 0));
    interrupt_blocking_calls_with_sigusr2();
    pester p = {.target = pthread_self(), .fifo_path = fifo,
                .signals_before_writer = signals_before_writer};
    atomic_init(&p.stop, false);
    pthread_t thread;
    cr_assert(eq(int, pthread_create(&thread, NULL, pester_main, &p), 0));
    int fd = posix()->open(posix()->fs_ctx, fifo, O_RDONLY, 0);
    *out_errno = errno;
    atomic_store(&p.stop, true);
    pthread_join(thread, NULL);
    return fd;
}

Test(cov_wal_fs, posix_open_is_retried_when_a_signal_interrupts_it)
{
    /* Blocks until the writer comes; the signals before it interrupt the open. */
    int open_errno = 0;
    int fd = open_fifo_while_signalled(30, &open_errno);
    cr_assert(fd >= 0, "open failed: %s", strerror(open_errno));
    char byte = 0;
    cr_expect(eq(long, (long)read(fd, &byte, 1), 1));
    cr_expect(eq(chr, byte, 'x'));
    cr_expect(atomic_load(&signals_caught) > 0u);
    close(fd);
}

Test(cov_wal_fs, posix_open_gives_up_after_a_storm_of_interruptions)
{
    /* No writer ever comes: every attempt is interrupted, and the bound ends the retries. */
    int open_errno = 0;
    int fd = open_fifo_while_signalled(0, &open_errno);
    cr_assert(eq(int, fd, -1));
    cr_expect(eq(int, open_errno, EINTR));
    cr_expect(atomic_load(&signals_caught) >= 1000u, "caught %u", atomic_load(&signals_caught));
}

/* ---- fs_posix: the other calls ---------------------------------------------------------- */

Test(cov_wal_fs, posix_size_and_ftruncate_of_a_file_and_of_a_closed_descriptor)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "f");
    int fd = posix()->open(posix()->fs_ctx, path, O_RDWR | O_CREAT, 0600);
    cr_assert(fd >= 0);
    uint64_t bytes = 1;
    cr_assert(eq(int, posix()->size(posix()->fs_ctx, fd, &bytes), 0));
    cr_expect(eq(u64, bytes, 0));
    cr_assert(eq(int, posix()->ftruncate(posix()->fs_ctx, fd, 12345), 0));
    cr_assert(eq(int, posix()->size(posix()->fs_ctx, fd, &bytes), 0));
    cr_expect(eq(u64, bytes, 12345));
    cr_assert(eq(int, posix()->ftruncate(posix()->fs_ctx, fd, 7), 0));
    cr_expect(eq(u64, file_size(path), 7));
    cr_assert(eq(int, posix()->close(posix()->fs_ctx, fd), 0));

    bytes = 99;
    errno = 0;
    cr_expect(eq(int, posix()->size(posix()->fs_ctx, fd, &bytes), -1));
    cr_expect(eq(int, errno, EBADF));
    cr_expect(eq(u64, bytes, 99), "nothing written on failure");
    errno = 0;
    cr_expect(eq(int, posix()->ftruncate(posix()->fs_ctx, fd, 0), -1));
    cr_expect(eq(int, errno, EBADF));
}

Test(cov_wal_fs, posix_fsync_dir_needs_a_directory)
{
    char missing[TEMPDIR_PATH_BYTES];
    char file[TEMPDIR_PATH_BYTES];
    missing_and_file(missing, file);
    cr_expect(eq(int, posix()->fsync_dir(posix()->fs_ctx, dir), 0));
    errno = 0;
    cr_expect(eq(int, posix()->fsync_dir(posix()->fs_ctx, missing), -1));
    cr_expect(eq(int, errno, ENOENT));
    errno = 0;
    cr_expect(eq(int, posix()->fsync_dir(posix()->fs_ctx, file), -1));
    cr_expect(eq(int, errno, ENOTDIR));
}

typedef struct name_log {
    uint32_t count;
    uint32_t stop_after;            /* 0: never stop */
    bool saw_dot;
} name_log;

static int log_name(void *ctx, const char *name)
{
    name_log *log = ctx;
    log->count++;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        log->saw_dot = true;
    }
    return log->stop_after != 0 && log->count >= log->stop_after ? 1 : 0;
}

Test(cov_wal_fs, posix_list_dir_lists_entries_stops_on_request_and_fails_without_a_dir)
{
    static const char *const names[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        char path[TEMPDIR_PATH_BYTES];
        tempdir_join(path, dir, names[i]);
        write_file(path, "x", 1);
    }
    name_log all = {0};
    cr_assert(eq(int, posix()->list_dir(posix()->fs_ctx, dir, log_name, &all), 0));
    cr_expect(eq(u32, all.count, 3));
    cr_expect(not(all.saw_dot));

    name_log first = {.stop_after = 1};
    cr_assert(eq(int, posix()->list_dir(posix()->fs_ctx, dir, log_name, &first), 0));
    cr_expect(eq(u32, first.count, 1), "the callback stopped the listing");

    char missing[TEMPDIR_PATH_BYTES];
    tempdir_join(missing, dir, "missing");
    name_log none = {0};
    errno = 0;
    cr_expect(eq(int, posix()->list_dir(posix()->fs_ctx, missing, log_name, &none), -1));
    cr_expect(eq(int, errno, ENOENT));
    cr_expect(eq(u32, none.count, 0));
}

Test(cov_wal_fs, posix_is_dir_only_for_directories)
{
    char missing[TEMPDIR_PATH_BYTES];
    char file[TEMPDIR_PATH_BYTES];
    missing_and_file(missing, file);
    cr_expect(eq(int, posix()->is_dir(posix()->fs_ctx, dir), 1));
    cr_expect(eq(int, posix()->is_dir(posix()->fs_ctx, file), 0));
    cr_expect(eq(int, posix()->is_dir(posix()->fs_ctx, missing), 0));
}

/* ---- the log over a directory that is not one -------------------------------------------- */

static billord_err open_log(const char *dir_path, const billord_fs *fs,
                            billord_wal_recovery *info)
{
    billord_wal_config config = {
        .dir_path = dir_path,
        .segment_bytes = SMALL_SEGMENT_BYTES,
        .fs = fs,
        .preparer_inline = true,
    };
    billord_wal *wal = NULL;
    billord_err err = billord_wal_open(&config, &wal, info);
    if (err == BILLORD_OK) {
        billord_wal_close(wal);
    } else {
        cr_assert(wal == NULL);
    }
    return err;
}

Test(cov_wal_fs, a_log_in_a_missing_directory_or_in_a_file_is_an_io_error)
{
    char missing[TEMPDIR_PATH_BYTES];
    char file[TEMPDIR_PATH_BYTES];
    missing_and_file(missing, file);
    billord_wal_recovery info;
    cr_expect(eq(int, open_log(missing, NULL, &info), BILLORD_E_IO));
    cr_expect(strstr(info.error_text, "list wal directory") != NULL, "%s", info.error_text);
    cr_expect(eq(int, open_log(file, NULL, &info), BILLORD_E_IO));
    cr_expect(strstr(info.error_text, file) != NULL, "%s", info.error_text);
    cr_expect(eq(u64, file_size(file), 1), "the file was left alone");
}

Test(cov_wal_fs, a_directory_of_more_segments_than_the_limit_is_refused)
{
    bent_fs fs;
    bent_init(&fs);
    fs.listed_segment_names = BILLORD_WAL_SEGMENTS_MAX + 1u;
    billord_wal_recovery info;
    cr_assert(eq(int, open_log(dir, &fs.table, &info), BILLORD_E_TOO_LARGE));
    cr_expect(strstr(info.error_text, "list wal directory") != NULL, "%s", info.error_text);
    cr_expect(eq(u32, fs.pread_calls, 0), "no segment was read");

    uint64_t *lsns = NULL;
    uint32_t count = 0;
    fs.listed_segment_names = BILLORD_WAL_SEGMENTS_MAX;
    cr_assert(eq(int, billord__wal_list_segments(&fs.table, dir, &lsns, &count), BILLORD_OK));
    cr_expect(eq(u32, count, BILLORD_WAL_SEGMENTS_MAX), "the limit itself is fine");
    cr_expect(eq(u64, lsns[0], 1));
    cr_expect(eq(u64, lsns[count - 1], 1u + (uint64_t)(count - 1) * 10u));
    free(lsns);
}

Test(cov_wal_fs, files_that_only_look_like_segments_are_ignored)
{
    static const char *const strangers[] = {
        "00000000000000000001.sex",     /* the right length, another suffix */
        "000000000000000000-1.seg",     /* a character below '0' */
        "00000000000000000:01.seg",     /* a character above '9' */
        "00000000000000000000.seg",     /* LSN 0 */
        "99999999999999999999.seg",     /* over UINT64_MAX */
        "0000000000000000001.seg",      /* one digit short */
    };
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
        uint64_t lsn = 77;
        cr_expect(not(billord__wal_segment_name_parse(strangers[i], &lsn)), "%s", strangers[i]);
        cr_expect(eq(u64, lsn, 77));
        char path[TEMPDIR_PATH_BYTES];
        tempdir_join(path, dir, strangers[i]);
        write_file(path, "junk", 4);
    }
    uint64_t lsn = 0;
    cr_expect(billord__wal_segment_name_parse("18446744073709551615.seg", &lsn));
    cr_expect(eq(u64, lsn, UINT64_MAX));

    billord_wal_recovery info;
    cr_assert(eq(int, open_log(dir, NULL, &info), BILLORD_OK), "%s", info.error_text);
    cr_expect(eq(u32, info.segment_count, 1), "a fresh first segment beside the strangers");
    cr_expect(eq(u64, info.lsn_last, 0));
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
        char path[TEMPDIR_PATH_BYTES];
        tempdir_join(path, dir, strangers[i]);
        cr_expect(eq(u64, file_size(path), 4), "%s untouched", strangers[i]);
    }
}

Test(cov_wal_fs, path_join_refuses_what_does_not_fit)
{
    char out[8];
    cr_expect(billord__wal_path_join(out, sizeof out, "ab", "cdef"));
    cr_expect(eq(str, out, "ab/cdef"));
    cr_expect(not(billord__wal_path_join(out, sizeof out, "ab", "cdefg")));
}

Test(cov_wal_fs, errno_values_map_to_disk_full_or_io)
{
    cr_expect(eq(int, billord__wal_errno_err(ENOSPC), BILLORD_E_DISK_FULL));
    cr_expect(eq(int, billord__wal_errno_err(EDQUOT), BILLORD_E_DISK_FULL));
    cr_expect(eq(int, billord__wal_errno_err(EIO), BILLORD_E_IO));
    cr_expect(eq(int, billord__wal_errno_err(EROFS), BILLORD_E_IO));
}

/* ---- write_all ------------------------------------------------------------------------- */

/* Writes bytes_len bytes of a pattern through fs into a fresh file; returns write_all's answer. */
static int write_pattern(bent_fs *fs, const char *path, size_t bytes_len, int *out_errno)
{
    uint8_t bytes[256];
    cr_assert(bytes_len <= sizeof bytes);
    for (size_t i = 0; i < bytes_len; i++) {
        bytes[i] = (uint8_t)(i * 7u + 1u);
    }
    int fd = posix()->open(posix()->fs_ctx, path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0);
    errno = 0;
    int result = billord__wal_write_all(&fs->table, fd, bytes, bytes_len, 0);
    *out_errno = errno;
    close(fd);
    return result;
}

Test(cov_wal_fs, write_all_continues_short_writes_within_its_bound)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "w");
    bent_fs fs;
    bent_init(&fs);
    fs.pwrite_max_bytes = 1;
    int write_errno = 0;
    /* One byte per call: as many bytes as attempts still completes. */
    cr_assert(eq(int, write_pattern(&fs, path, BILLORD__WAL_WRITE_ATTEMPTS_MAX, &write_errno), 0));
    cr_expect(eq(u32, fs.pwrite_calls, BILLORD__WAL_WRITE_ATTEMPTS_MAX));
    size_t bytes = 0;
    uint8_t *back = (uint8_t *)tempdir_read_file(path, &bytes);
    cr_assert(back != NULL);
    cr_expect(eq(sz, bytes, BILLORD__WAL_WRITE_ATTEMPTS_MAX));
    cr_expect(eq(u8, back[BILLORD__WAL_WRITE_ATTEMPTS_MAX - 1u],
                 (uint8_t)((BILLORD__WAL_WRITE_ATTEMPTS_MAX - 1u) * 7u + 1u)));
    free(back);

    /* One byte more: the attempts run out, and that is an I/O error. */
    fs.pwrite_calls = 0;
    cr_assert(eq(int, write_pattern(&fs, path, BILLORD__WAL_WRITE_ATTEMPTS_MAX + 1u, &write_errno),
                 -1));
    cr_expect(eq(int, write_errno, EIO));
    cr_expect(eq(u32, fs.pwrite_calls, BILLORD__WAL_WRITE_ATTEMPTS_MAX));
    cr_expect(eq(u64, file_size(path), BILLORD__WAL_WRITE_ATTEMPTS_MAX));
}

Test(cov_wal_fs, write_all_fails_a_write_that_makes_no_progress)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "w");
    bent_fs fs;
    bent_init(&fs);
    fs.pwrite_no_progress = true;
    int write_errno = 0;
    cr_assert(eq(int, write_pattern(&fs, path, 10, &write_errno), -1));
    cr_expect(eq(int, write_errno, EIO));
    cr_expect(eq(u32, fs.pwrite_calls, 1), "no second try after no progress");
}

/* ---- read_file -------------------------------------------------------------------------- */

typedef struct read_result {
    billord_err err;
    size_t file_bytes;
    char text[512];
} read_result;

static read_result read_through(const billord_fs *fs, const char *path, uint8_t **buffer,
                                size_t *capacity)
{
    read_result result;
    memset(&result, 0, sizeof result);
    result.file_bytes = 12345;
    result.err = billord__wal_read_file(fs, path, buffer, capacity, &result.file_bytes,
                                        result.text, sizeof result.text);
    return result;
}

Test(cov_wal_fs, read_file_of_an_empty_file_allocates_a_buffer)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "empty");
    write_file(path, "", 0);
    uint8_t *buffer = NULL;
    size_t capacity = 0;
    read_result result = read_through(posix(), path, &buffer, &capacity);
    cr_assert(eq(int, result.err, BILLORD_OK), "%s", result.text);
    cr_expect(eq(sz, result.file_bytes, 0));
    cr_expect(buffer != NULL);
    cr_expect(eq(sz, capacity, 1));
    free(buffer);
}

Test(cov_wal_fs, read_file_of_a_missing_file_names_it)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "missing");
    uint8_t *buffer = NULL;
    size_t capacity = 0;
    read_result result = read_through(posix(), path, &buffer, &capacity);
    cr_expect(eq(int, result.err, BILLORD_E_IO));
    cr_expect(strstr(result.text, path) != NULL, "%s", result.text);
    cr_expect(eq(sz, result.file_bytes, 12345), "no size on failure");
    free(buffer);
}

Test(cov_wal_fs, read_file_of_a_file_that_shrank_returns_what_is_there)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "shrunk");
    write_file(path, "0123456789", 10);
    bent_fs fs;
    bent_init(&fs);
    fs.size_extra_bytes = 100;      /* the size was taken before the file lost 100 bytes */
    uint8_t *buffer = NULL;
    size_t capacity = 0;
    read_result result = read_through(&fs.table, path, &buffer, &capacity);
    cr_assert(eq(int, result.err, BILLORD_OK), "%s", result.text);
    cr_expect(eq(sz, result.file_bytes, 10));
    cr_expect(eq(int, memcmp(buffer, "0123456789", 10), 0));
    free(buffer);
}

Test(cov_wal_fs, read_file_continues_short_reads_and_fails_when_they_stay_short)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "f");
    uint8_t bytes[200];
    for (size_t i = 0; i < sizeof bytes; i++) {
        bytes[i] = (uint8_t)(i + 1u);
    }
    write_file(path, bytes, sizeof bytes);
    bent_fs fs;
    bent_init(&fs);
    fs.pread_max_bytes = 4;         /* 50 reads: within the bound */
    uint8_t *buffer = NULL;
    size_t capacity = 0;
    read_result result = read_through(&fs.table, path, &buffer, &capacity);
    cr_assert(eq(int, result.err, BILLORD_OK), "%s", result.text);
    cr_expect(eq(sz, result.file_bytes, sizeof bytes));
    cr_expect(eq(int, memcmp(buffer, bytes, sizeof bytes), 0));

    /* One byte per read: 200 reads are over the bound. A prefix is not the file. */
    fs.pread_max_bytes = 1;
    result = read_through(&fs.table, path, &buffer, &capacity);
    cr_expect(eq(int, result.err, BILLORD_E_IO));
    cr_expect(eq(sz, result.file_bytes, 12345), "no size on failure");
    cr_expect(strstr(result.text, path) != NULL, "%s", result.text);
    free(buffer);
}

/* Regression: a log reopened over a file system whose reads stay short must not take the
 * prefix it read for the whole segment, or recovery "re-extends" the segment with zeroes
 * over records that were synced. */
Test(cov_wal_fs, recovery_over_short_reads_never_zeroes_synced_records)
{
    billord_wal_config config = {
        .dir_path = dir,
        .segment_bytes = SMALL_SEGMENT_BYTES,
        .preparer_inline = true,
    };
    billord_wal *wal = NULL;
    cr_assert(eq(int, billord_wal_open(&config, &wal, NULL), BILLORD_OK));
    uint8_t payload[100];
    memset(payload, 0xab, sizeof payload);
    for (int i = 0; i < 5; i++) {
        uint64_t lsn = 0;
        cr_assert(eq(int, billord_wal_append(wal, payload, sizeof payload, &lsn), BILLORD_OK));
    }
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    billord_wal_close(wal);

    bent_fs fs;
    bent_init(&fs);
    fs.pread_max_bytes = 1;
    config.fs = &fs.table;
    billord_wal_recovery info;
    billord_err err = billord_wal_open(&config, &wal, &info);
    if (err == BILLORD_OK) {
        billord_wal_close(wal);
    }
    cr_expect(eq(int, err, BILLORD_E_IO), "%s", info.error_text);

    config.fs = NULL;
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_OK), "%s", info.error_text);
    cr_expect(eq(u64, info.lsn_last, 5), "every synced record is still there");
    cr_expect(eq(u64, info.record_count, 5));
    billord_wal_close(wal);
}

Test(cov_wal_fs, a_segment_file_over_the_size_limit_is_corrupt)
{
    char path[TEMPDIR_PATH_BYTES];
    char name[BILLORD_WAL_SEGMENT_NAME_BYTES];
    billord__wal_segment_name(1, name);
    tempdir_join(path, dir, name);
    write_file(path, "", 0);
    cr_assert(eq(int, truncate(path, (off_t)BILLORD_WAL_SEGMENT_BYTES_MAX + 1), 0));  /* sparse */
    billord_wal_recovery info;
    cr_assert(eq(int, open_log(dir, NULL, &info), BILLORD_E_WAL_CORRUPT));
    cr_expect(strstr(info.error_text, path) != NULL, "%s", info.error_text);
    cr_expect(strstr(info.error_text, "larger than") != NULL, "%s", info.error_text);
    cr_expect(eq(u64, file_size(path), BILLORD_WAL_SEGMENT_BYTES_MAX + 1), "left as found");
}

Test(cov_wal_fs, read_file_without_memory_for_its_buffer_is_out_of_memory)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("allocations cannot be made to fail under a sanitizer");
    }
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "f");
    write_file(path, "0123456789", 10);
    uint8_t *buffer = NULL;
    size_t capacity = 0;
    faulty_alloc_fail_at(1, false, false);
    read_result result = read_through(posix(), path, &buffer, &capacity);
    uint64_t const failures = faulty_alloc_failures();
    faulty_alloc_reset();
    cr_assert(eq(u64, failures, 1));
    cr_expect(eq(int, result.err, BILLORD_E_NOMEM));
    cr_expect(buffer == NULL, "the caller's buffer is left as it was");
    cr_expect(eq(sz, capacity, 0));
    cr_expect(eq(sz, result.file_bytes, 12345), "no size on failure");
    cr_expect(strstr(result.text, "out of memory reading") != NULL, "%s", result.text);
    cr_expect(strstr(result.text, path) != NULL, "%s", result.text);
}

Test(cov_wal_fs, a_segment_listing_without_memory_is_out_of_memory)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("allocations cannot be made to fail under a sanitizer");
    }
    bent_fs fs;
    bent_init(&fs);
    fs.listed_segment_names = 100;      /* the list starts at 16 slots and grows */
    /* The first allocation, then the first growth (which must free the first). */
    for (uint64_t failing = 1; failing <= 2; failing++) {
        uint64_t *lsns = NULL;
        uint32_t count = 77;
        faulty_alloc_fail_at(failing, false, false);
        billord_err err = billord__wal_list_segments(&fs.table, dir, &lsns, &count);
        uint64_t const failures = faulty_alloc_failures();
        faulty_alloc_reset();
        cr_assert(eq(u64, failures, 1), "allocation %llu", (unsigned long long)failing);
        cr_expect(eq(int, err, BILLORD_E_NOMEM));
        cr_expect(lsns == NULL);
        cr_expect(eq(u32, count, 77), "nothing handed out on failure");
    }
}
