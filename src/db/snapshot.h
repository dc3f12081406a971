/*
 * snapshot.h: what snapshot mode needs beside the log (docs/durability.md, "Snapshot mode"):
 * synced copies of LMDB, the machine's boot id and a clean-shutdown marker, to tell a
 * killed process (LMDB intact in the page cache) from an OS crash or power loss (LMDB may
 * be torn: rebuild from the snapshot and the log).
 */
#ifndef BILLORD_DB_SNAPSHOT_H
#define BILLORD_DB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/engine.h>
#include <billord/fs.h>

#define BILLORD_SNAPSHOT_DIR "snapshot"
#define BILLORD_SNAPSHOT_FILE "data.mdb"
#define BILLORD_BOOT_ID_FILE "boot_id"
#define BILLORD_CLEAN_FILE "clean_shutdown"
#define BILLORD_BOOT_ID_BYTES_MAX 64u
#define BILLORD_SNAPSHOT_PATH_BYTES 4096u
/* The data directory's path is shorter than this, so every path below it fits. */
#define BILLORD_SNAPSHOT_DATA_DIR_BYTES_MAX (BILLORD_SNAPSHOT_PATH_BYTES - 64u)
/* Where the machine's boot id is read (tests pass another file). */
#define BILLORD_SNAPSHOT_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/*
 * data_dir: shorter than BILLORD_SNAPSHOT_DATA_DIR_BYTES_MAX. fs: the db's billord_fs
 * (billord_fs_posix() by default): every write, sync, rename and unlink goes through it.
 */

/**
 * At open, before the engine: was the last run ended by an OS crash or power loss (no
 * clean-shutdown marker and another boot id than the one read from boot_id_path)? Then
 * replace state/ with the snapshot (copy, fsync; *out_rebuilt). Then record this boot and
 * remove the marker (both synced), so that any later crash reads as unclean. A rebuild that
 * fails leaves the old boot id, so the next open tries it again.
 */
billord_err billord__snapshot_startup(const billord_fs *fs, const char *data_dir,
                                      const char *boot_id_path, bool *out_rebuilt,
                                      char *error_text, size_t error_text_bytes);

/** Whether a snapshot exists. */
bool billord__snapshot_exists(const char *data_dir);

/** Write a snapshot (temp file, fsync, rename, directory fsync); *out_lsn: LSN it holds at least. */
billord_err billord__snapshot_take(const billord_fs *fs, billord_engine *engine,
                                   const char *data_dir, uint64_t *out_lsn);

/** The LSN the current snapshot holds at least (from its synced "lsn" file). */
billord_err billord__snapshot_lsn(const char *data_dir, uint64_t *out_lsn);

/** Write the clean-shutdown marker (synced): call after LMDB was synced at close. */
billord_err billord__snapshot_mark_clean(const billord_fs *fs, const char *data_dir);

#endif
