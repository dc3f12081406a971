/*
 * ctl_sign.c: billordctl sign: print a V1-signed request URL (for curl, demos and scripts),
 * with a fresh Timestamp and SignatureNonce, signed as the SDKs sign (docs/auth.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <billord/http_params.h>
#include <billord/http_sign.h>
#include <billord/timeutil.h>

#include "ctl.h"

#define SIGN_URL_BYTES_MAX (64u * 1024u)
#define SIGN_ARENA_BYTES (64u * 1024u)

static void sign_usage(FILE *out)
{
    fprintf(out,
            "usage: billordctl sign --key ACCESS_KEY_ID --secret SECRET [--url http://HOST:PORT]\n"
            "                       [--version V] NAME=VALUE...\n"
            "Print a GET URL carrying NAME=VALUE parameters plus AccessKeyId, Format=JSON,\n"
            "SignatureMethod, SignatureVersion, a fresh SignatureNonce and Timestamp, Version\n"
            "(default 2014-05-26) and the V1 Signature. Example:\n"
            "  curl \"$(billordctl sign --key LTAI5tDemoKey0001 --secret demo-secret-0001 \\\n"
            "          Action=RenewInstance InstanceId=i-acc0001 Period=1 ClientToken=demo-1)\"\n");
}

static bool add(billord_params *params, const char *name, const char *value)
{
    return billord_params_add(params, name, strlen(name), value, strlen(value),
                              BILLORD_PARAM_SOURCE_QUERY, NULL) == BILLORD_PARAMS_OK;
}

static bool add_common(billord_params *params, const char *key, const char *version)
{
    uint8_t random_bytes[16];
    if (getrandom(random_bytes, sizeof random_bytes, 0) != (ssize_t)sizeof random_bytes) {
        return false;
    }
    char nonce[33];
    for (int i = 0; i < 16; i++) {
        snprintf(nonce + 2 * i, 3, "%02x", random_bytes[i]);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char timestamp[BILLORD_RFC3339_BYTES_MAX];
    billord_time_format_rfc3339((int64_t)now.tv_sec * 1000, timestamp);
    return add(params, "AccessKeyId", key) && add(params, "Format", "JSON") &&
           add(params, "SignatureMethod", "HMAC-SHA1") && add(params, "SignatureVersion", "1.0") &&
           add(params, "SignatureNonce", nonce) && add(params, "Timestamp", timestamp) &&
           add(params, "Version", version);
}

static int print_url(billord_params *params, const char *url, const char *secret)
{
    char signature[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    if (billord_sign_v1_compute(params, "GET", secret, strlen(secret), signature) !=
            BILLORD_SIGN_OK ||
        !add(params, "Signature", signature)) {
        fprintf(stderr, "billordctl sign: signing failed\n");
        return CTL_EXIT_FAILED;
    }
    static char query[SIGN_URL_BYTES_MAX];
    size_t query_bytes = 0;
    if (billord_params_encode(params, BILLORD_PARAM_SOURCE_QUERY, query, sizeof query,
                              &query_bytes) != BILLORD_OK) {
        fprintf(stderr, "billordctl sign: the request is too long\n");
        return CTL_EXIT_FAILED;
    }
    printf("%s/?%s\n", url, query);
    return CTL_EXIT_OK;
}

int ctl_sign(int argc, char **argv)
{
    const char *key = NULL, *secret = NULL, *url = "http://127.0.0.1:8080", *version = "2014-05-26";
    static char arena[SIGN_ARENA_BYTES];
    billord_params params;
    billord_params_init(&params, arena, sizeof arena);
    for (int i = 1; i < argc; i++) {
        const char *equals = strchr(argv[i], '=');
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sign_usage(stdout);
            return CTL_EXIT_OK;
        } else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc) {
            secret = argv[++i];
        } else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            url = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
            version = argv[++i];
        } else if (argv[i][0] != '-' && equals != NULL && equals != argv[i]) {
            if (billord_params_add(&params, argv[i], (size_t)(equals - argv[i]), equals + 1,
                                   strlen(equals + 1), BILLORD_PARAM_SOURCE_QUERY,
                                   NULL) != BILLORD_PARAMS_OK) {
                fprintf(stderr, "billordctl sign: parameter '%s' is not valid\n", argv[i]);
                return CTL_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "billordctl sign: unexpected argument '%s'\n", argv[i]);
            sign_usage(stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (key == NULL || secret == NULL) {
        sign_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (!add_common(&params, key, version)) {
        fprintf(stderr, "billordctl sign: could not add the common parameters\n");
        return CTL_EXIT_FAILED;
    }
    return print_url(&params, url, secret);
}
