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

#define BILLORD_SNAPSHOT_DIR "snapshot"
#define BILLORD_SNAPSHOT_FILE "data.mdb"
#define BILLORD_BOOT_ID_FILE "boot_id"
#define BILLORD_CLEAN_FILE "clean_shutdown"
#define BILLORD_BOOT_ID_BYTES_MAX 64u
#define BILLORD_SNAPSHOT_PATH_BYTES 4096u

/**
 * At open: was the last run ended by an OS crash or power loss (no clean-shutdown marker
 * and another boot id)? Then record this boot and remove the marker (both synced), so that
 * any later crash reads as unclean.
 */
billord_err billord__snapshot_startup(const char *data_dir, bool *out_rebuild,
                                      char *error_text, size_t error_text_bytes);

/** Whether a snapshot exists. */
bool billord__snapshot_exists(const char *data_dir);

/** Write a snapshot (temp file, fsync, rename, directory fsync); *out_lsn: LSN it holds at least. */
billord_err billord__snapshot_take(billord_engine *engine, const char *data_dir, uint64_t *out_lsn);

/** The LSN the current snapshot holds at least (from its synced "lsn" file). */
billord_err billord__snapshot_lsn(const char *data_dir, uint64_t *out_lsn);

/** Replace state/ with the snapshot (copy, fsync). The engine must be closed. */
billord_err billord__snapshot_restore(const char *data_dir, char *error_text,
                                      size_t error_text_bytes);

/** Write the clean-shutdown marker (synced): call after LMDB was synced at close. */
billord_err billord__snapshot_mark_clean(const char *data_dir);

#endif
