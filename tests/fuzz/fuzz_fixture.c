/*
 * fuzz_fixture: the fixture loader (billord_fixture_parse and _parse_file in
 * include/billord/fixture.h), JSON text that an operator hands to the server.
 *
 * Input: the fixture text. Inputs whose first byte is odd are also written to a temp
 * file under /dev/shm and loaded with billord_fixture_parse_file (the only I/O).
 * Properties: a refusal is BILLORD_E_FIXTURE with a one-line message naming a JSON path
 * and a zeroed fixture; an acceptance has arrays matching its counts; parsing is
 * deterministic, and the file loader answers as the in-memory parser does.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <billord/fixture.h>

#include "fuzz_common.h"

static void check_shape(billord_err err, const billord_fixture *fixture, const char *error_text)
{
    if (err != BILLORD_OK) {
        BILLORD_ASSERT(err == BILLORD_E_FIXTURE || err == BILLORD_E_NOMEM);
        BILLORD_ASSERT(error_text[0] != '\0' && strchr(error_text, '\n') == NULL);
        BILLORD_ASSERT(fixture->price_count == 0 && fixture->prices == NULL);
        BILLORD_ASSERT(fixture->account_count == 0 && fixture->accounts == NULL);
        BILLORD_ASSERT(fixture->instance_count == 0 && fixture->instances == NULL);
        BILLORD_ASSERT(fixture->order_count == 0 && fixture->orders == NULL);
        BILLORD_ASSERT(fixture->coupon_count == 0 && fixture->coupons == NULL);
        return;
    }
    BILLORD_ASSERT((fixture->price_count == 0) == (fixture->prices == NULL) ||
                   fixture->price_count == 0);
    BILLORD_ASSERT(fixture->account_count == 0 || fixture->accounts != NULL);
    BILLORD_ASSERT(fixture->instance_count == 0 || fixture->instances != NULL);
    BILLORD_ASSERT(fixture->order_count == 0 || fixture->orders != NULL);
    BILLORD_ASSERT(fixture->coupon_count == 0 || fixture->coupons != NULL);
    BILLORD_ASSERT(fixture->price_count == 0 || fixture->prices != NULL);
    /* Every element is readable (ASan checks the bounds). */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < fixture->account_count; i++) {
        sink ^= ((const uint8_t *)&fixture->accounts[i])[sizeof fixture->accounts[i] - 1];
    }
    for (size_t i = 0; i < fixture->instance_count; i++) {
        sink ^= ((const uint8_t *)&fixture->instances[i])[sizeof fixture->instances[i] - 1];
    }
    for (size_t i = 0; i < fixture->order_count; i++) {
        sink ^= ((const uint8_t *)&fixture->orders[i])[sizeof fixture->orders[i] - 1];
    }
    for (size_t i = 0; i < fixture->coupon_count; i++) {
        sink ^= ((const uint8_t *)&fixture->coupons[i])[sizeof fixture->coupons[i] - 1];
    }
    for (size_t i = 0; i < fixture->price_count; i++) {
        sink ^= ((const uint8_t *)&fixture->prices[i])[sizeof fixture->prices[i] - 1];
    }
    (void)sink;
}

static void check_same(const billord_fixture *a, const billord_fixture *b)
{
    BILLORD_ASSERT(a->has_clock == b->has_clock && a->clock_ms == b->clock_ms);
    BILLORD_ASSERT(a->price_count == b->price_count);
    BILLORD_ASSERT(a->account_count == b->account_count);
    BILLORD_ASSERT(a->coupon_count == b->coupon_count);
    BILLORD_ASSERT(a->instance_count == b->instance_count);
    BILLORD_ASSERT(a->order_count == b->order_count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512u * 1024u) {
        return 0;
    }
    char *text = malloc(size ? size : 1);   /* exact size: ASan sees overreads */
    BILLORD_ASSERT(text != NULL);
    memcpy(text, data, size);
    billord_fixture fixture, again;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    char error_again[BILLORD_FIXTURE_ERROR_BYTES];
    billord_err const err =
        billord_fixture_parse(text, size, &fixture, error_text, sizeof error_text);
    check_shape(err, &fixture, error_text);

    billord_err const err_again =
        billord_fixture_parse(text, size, &again, error_again, sizeof error_again);
    BILLORD_ASSERT(err_again == err);
    if (err == BILLORD_OK) {
        check_same(&fixture, &again);
    } else {
        BILLORD_ASSERT(strcmp(error_text, error_again) == 0);
    }
    billord_fixture_free(&again);

    /* A tiny error buffer still gets a NUL-terminated message. */
    char tiny[8];
    billord_err const err_tiny = billord_fixture_parse(text, size, &again, tiny, sizeof tiny);
    BILLORD_ASSERT(err_tiny == err);
    BILLORD_ASSERT(memchr(tiny, '\0', sizeof tiny) != NULL || err == BILLORD_OK);
    billord_fixture_free(&again);

    if (size > 0 && (data[0] & 1u)) {
        char path[96];
        snprintf(path, sizeof path, "/dev/shm/billord-fuzz-fixture-%ld.json", (long)getpid());
        int const fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        BILLORD_ASSERT(fd >= 0);
        BILLORD_ASSERT(write(fd, text, size) == (ssize_t)size);
        BILLORD_ASSERT(close(fd) == 0);
        billord_err const err_file =
            billord_fixture_parse_file(path, &again, error_again, sizeof error_again);
        BILLORD_ASSERT(err_file == err);
        if (err == BILLORD_OK) {
            check_same(&fixture, &again);
        }
        billord_fixture_free(&again);
    }
    billord_fixture_free(&fixture);
    billord_fixture_free(&fixture);   /* a zeroed fixture may be freed again */
    free(text);
    return 0;
}
