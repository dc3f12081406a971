/*
 * billord/limits.h: every limit of billord as a named constant (SPEC section 11).
 * Each one, when hit, answers a clean error; the relations between them are
 * checked at compile time below.
 */
#ifndef BILLORD_LIMITS_H
#define BILLORD_LIMITS_H

#include <assert.h>

/* Request shape. */
#define BILLORD_CLIENT_TOKEN_BYTES_MAX    64u
#define BILLORD_IDS_PER_CALL_MAX          100u
#define BILLORD_PARAMS_MAX                64u
#define BILLORD_PARAM_NAME_BYTES_MAX      128u
#define BILLORD_PARAM_VALUE_BYTES_MAX     4096u
#define BILLORD_HEADERS_BYTES_MAX         (16u * 1024u)
#define BILLORD_BODY_BYTES_MAX            (64u * 1024u)

/* Identifiers. */
#define BILLORD_ACCOUNT_ID_BYTES_MAX      64u
#define BILLORD_INSTANCE_ID_BYTES_MAX     64u
#define BILLORD_ACCESS_KEY_ID_BYTES_MAX   128u
#define BILLORD_ACCESS_KEY_SECRET_BYTES_MAX 128u
#define BILLORD_ACCESS_KEYS_PER_ACCOUNT_MAX 8u
#define BILLORD_COUPON_ID_BYTES_MAX       64u
#define BILLORD_INSTANCE_TYPE_BYTES_MAX   64u
#define BILLORD_REGION_BYTES_MAX          64u
#define BILLORD_REQUEST_ID_BYTES          36u   /* 8-4-4-4-12 uppercase hex */
#define BILLORD_ACTION_BYTES_MAX          64u
#define BILLORD_MESSAGE_BYTES_MAX         512u

/* Engine. */
#define BILLORD_BATCH_COMMANDS_MAX        1024u
#define BILLORD_CANONICAL_BYTES_MAX       (BILLORD_IDS_PER_CALL_MAX * 80u + 1024u)
#define BILLORD_TOKEN_RETENTION_MS_DEFAULT (7LL * 24 * 3600 * 1000)
#define BILLORD_TOKENS_PRUNED_PER_BATCH_MAX 256u
#define BILLORD_PAGE_SIZE_MAX             100u
#define BILLORD_PAGE_SIZE_DEFAULT         10u

/* Store. */
#define BILLORD_MAP_BYTES_DEFAULT         (1ULL << 30)           /* 1 GiB */
#define BILLORD_MAP_BYTES_MAX             (1ULL << 40)           /* 1 TiB */
#define BILLORD_STORE_VALUE_BYTES_MAX     (64u * 1024u)

/* Order ids: unique, increasing, deterministic, below 2^53 (JSON-safe). */
#define BILLORD_ORDER_ID_FIRST            200000000000001ULL
#define BILLORD_ORDER_ID_LIMIT            (1ULL << 53)

static_assert(BILLORD_CLIENT_TOKEN_BYTES_MAX < BILLORD_PARAM_VALUE_BYTES_MAX,
              "a token fits in one parameter value");
static_assert(BILLORD_ORDER_ID_FIRST < BILLORD_ORDER_ID_LIMIT, "order ids start below 2^53");
static_assert(BILLORD_PAGE_SIZE_DEFAULT <= BILLORD_PAGE_SIZE_MAX, "default page fits");

#endif
