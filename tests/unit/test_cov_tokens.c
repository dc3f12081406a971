/*
 * test_cov_tokens.c: the ClientToken state machine (src/engine/engine.c, token_check)
 * facing a damaged stored token record, which only a disk or a bug could produce: a
 * record whose fingerprint no longer matches its own parameters is InternalError (never
 * a replay of the wrong answer, never a mismatch naming no parameter), and a record
 * whose code is unknown replays as InternalError.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <lmdb.h>

#include "store/codec.h"
#include "support/harness.h"
#include "support/tempdir.h"

/* Rewrite every stored token record with edit() applied, straight in LMDB. */
static void tokens_edit(const char *data_dir, void (*edit)(billord_token_record *))
{
    char state_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(state_dir, data_dir, "state");
    MDB_env *env = NULL;
    cr_assert(eq(int, mdb_env_create(&env), 0));
    cr_assert(eq(int, mdb_env_set_maxdbs(env, 32), 0));
    cr_assert(eq(int, mdb_env_set_mapsize(env, 64ULL << 20), 0));
    cr_assert(eq(int, mdb_env_open(env, state_dir, 0, 0644), 0));
    MDB_txn *txn = NULL;
    cr_assert(eq(int, mdb_txn_begin(env, NULL, 0, &txn), 0));
    MDB_dbi dbi;
    cr_assert(eq(int, mdb_dbi_open(txn, "tokens", 0, &dbi), 0));
    MDB_cursor *cursor = NULL;
    cr_assert(eq(int, mdb_cursor_open(txn, dbi, &cursor), 0));
    MDB_val key, value;
    int edited = 0;
    for (int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
        static billord_token_record record;
        cr_assert(eq(int, billord__decode_token(value.mv_data, value.mv_size, &record),
                     BILLORD_OK));
        edit(&record);
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init(&buffer);
        billord__encode_token(&buffer, &record);
        MDB_val new_value = {buffer.size, buffer.data};
        cr_assert(eq(int, mdb_cursor_put(cursor, &key, &new_value, MDB_CURRENT), 0));
        msgpack_sbuffer_destroy(&buffer);
        edited++;
    }
    cr_assert(edited > 0);
    mdb_cursor_close(cursor);
    cr_assert(eq(int, mdb_txn_commit(txn), 0));
    mdb_env_close(env);
}

static void flip_fingerprint(billord_token_record *record)
{
    record->fingerprint[0] ^= 0x01;
}

static void unknown_code(billord_token_record *record)
{
    strcpy(record->code_text, "NoSuchCode");
}

static billord_outcome renew(harness *h)
{
    return harness_call(h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", "i-acc0001", "Period",
                        "1", "ClientToken", "cov-token", NULL);
}

/* A renewal with a ClientToken, its stored record edited while the engine is closed, and
 * the same renewal again: *out_first and *out_again. */
static void renew_after_edit(void (*edit)(billord_token_record *), billord_outcome *out_first,
                             billord_outcome *out_again)
{
    harness h;
    harness_open(&h, "fixtures/demo.json");
    *out_first = renew(&h);
    cr_assert(eq(int, out_first->code, BILLORD_API_OK));
    billord_engine_close(h.engine);
    h.engine = NULL;
    tokens_edit(h.dir, edit);
    harness_reopen(&h);
    *out_again = renew(&h);
    harness_close(&h);
}

Test(cov_tokens, a_stored_fingerprint_that_does_not_match_is_internal_error, .timeout = 30)
{
    billord_outcome first, again;
    renew_after_edit(flip_fingerprint, &first, &again);
    cr_expect(eq(int, again.code, BILLORD_API_INTERNAL_ERROR));
    cr_expect(not(again.idempotent_replay));
}

Test(cov_tokens, a_stored_unknown_code_replays_as_internal_error, .timeout = 30)
{
    billord_outcome first, again;
    renew_after_edit(unknown_code, &first, &again);
    cr_expect(eq(int, again.code, BILLORD_API_INTERNAL_ERROR));
    cr_expect(again.idempotent_replay);
    cr_expect(eq(u64, again.order_id, first.order_id));
}
