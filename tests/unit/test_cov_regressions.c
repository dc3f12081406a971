/*
 * test_cov_regressions.c: one test per defect the fuzz targets (tests/fuzz/) found, so
 * the normal suites keep them fixed too. Each test names the fuzz target and the corpus
 * file holding the input that found it (tests/fuzz/corpus/<target>/regress_*).
 */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/wal_batch.h>

#include "store/codec.h"
#include "support/batch_codec.h"

/*
 * fuzz_wal_batch (regress_empty_strings): msgpack-c decodes an empty str with a NULL ptr,
 * and the batch decoder passed it to memchr and memcpy (undefined behaviour, reported by
 * clang's UBSan). A tick command has an empty account and action, so every log holding a
 * tick took that path.
 */
Test(cov_regressions, wal_batch_empty_strings_round_trip, .timeout = 5)
{
    billord_param params[2] = {{"Empty", ""}, {"", "value"}};
    billord_command commands[2];
    memset(commands, 0, sizeof commands);
    commands[0].kind = BILLORD_COMMAND_TICK;
    commands[0].now_ms = 1735787045000LL;
    commands[0].account = "";
    commands[0].action = "";
    commands[1].kind = BILLORD_COMMAND_REQUEST;
    commands[1].now_ms = -1;
    commands[1].account = "acc";
    commands[1].action = "RenewInstance";
    commands[1].param_count = 2;
    commands[1].params = params;

    msgpack_sbuffer buffer;
    billord_wal_batch batch;
    batch_codec_round_trip(commands, 2, &buffer, &batch);
    cr_expect(eq(str, (char *)batch.commands[0].request_id, ""));
    cr_expect(eq(str, (char *)batch.commands[0].account, ""));
    cr_expect(eq(str, (char *)batch.commands[0].action, ""));
    cr_expect(eq(u32, batch.commands[1].param_count, 2));
    cr_expect(eq(str, (char *)batch.commands[1].params[0].value, ""));
    cr_expect(eq(str, (char *)batch.commands[1].params[1].name, ""));
    billord_wal_batch_free(&batch);
    msgpack_sbuffer_destroy(&buffer);
}

/*
 * fuzz_store_codec: the store codec had the same NULL ptr path for empty strings and an
 * empty bin (a success token record has an empty message; a token's canonical text may
 * be empty).
 */
Test(cov_regressions, store_token_with_empty_strings_round_trips, .timeout = 5)
{
    billord_token_record token;
    memset(&token, 0, sizeof token);
    token.http_status = 200;
    token.created_ms = 1735787045000LL;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    billord__encode_token(&buffer, &token);
    billord_token_record back;
    memset(&back, 0x5A, sizeof back);
    cr_assert(eq(int, billord__decode_token(buffer.data, buffer.size, &back), BILLORD_OK));
    cr_expect(eq(u32, back.canonical_bytes, 0));
    cr_expect(eq(str, back.message, ""));
    cr_expect(eq(str, back.code_text, ""));
    cr_expect(eq(str, back.request_id, ""));
    cr_expect(eq(int, back.http_status, 200));
    msgpack_sbuffer_destroy(&buffer);
}
