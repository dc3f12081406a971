/*
 * billord/error.h: the two error spaces of billord.
 *
 * billord_err is the status of an internal call (I/O, codec, store). Zero is
 * success. billord_api_code is an answer of the HTTP API (SPEC section 10):
 * each carries its wire Code, HTTP status and fixed English message. Both lists
 * are X-macros, so the enum, the names and the messages cannot drift apart.
 */
#ifndef BILLORD_ERROR_H
#define BILLORD_ERROR_H

#define BILLORD_ERROR_LIST(X)                                                        \
    X(BILLORD_OK,                 "ok")                                              \
    X(BILLORD_E_INVALID_ARGUMENT, "invalid argument")                                \
    X(BILLORD_E_NOMEM,            "out of memory")                                   \
    X(BILLORD_E_IO,               "I/O error")                                       \
    X(BILLORD_E_NOT_FOUND,        "not found")                                       \
    X(BILLORD_E_EXISTS,           "already exists")                                  \
    X(BILLORD_E_CORRUPT,          "stored data failed to decode")                    \
    X(BILLORD_E_OVERFLOW,         "amount does not fit in int64 micros")             \
    X(BILLORD_E_TOO_LARGE,        "value exceeds its named limit")                   \
    X(BILLORD_E_MAP_FULL,         "LMDB map is full (raise --map-size)")             \
    X(BILLORD_E_DISK_FULL,        "no space left on device")                         \
    X(BILLORD_E_SCHEMA,           "data directory has another schema version")       \
    X(BILLORD_E_NOT_EMPTY,        "data directory is not empty")                     \
    X(BILLORD_E_WAL_TRUNCATED,    "write-ahead log ends inside a record")            \
    X(BILLORD_E_WAL_CORRUPT,      "write-ahead log record failed its checksum")      \
    X(BILLORD_E_WAL_FAILED,       "write-ahead log unusable after an I/O error")     \
    X(BILLORD_E_QUEUE_FULL,       "submit queue is full")                            \
    X(BILLORD_E_CLOSED,           "handle is closed")                                \
    X(BILLORD_E_FIXTURE,          "fixture file is invalid")

typedef enum billord_err {
#define BILLORD_ERR_ENUM(name, message) name,
    BILLORD_ERROR_LIST(BILLORD_ERR_ENUM)
#undef BILLORD_ERR_ENUM
    BILLORD_ERR_COUNT
} billord_err;

/** "BILLORD_E_IO"; never NULL (an out-of-range value gives "BILLORD_E_UNKNOWN"). */
const char *billord_err_name(billord_err err);
/** Human text for err; never NULL. */
const char *billord_err_message(billord_err err);

/*
 * The API catalog: enum, wire Code, HTTP status, message. A message holding
 * "%s" is completed per answer (a parameter or id name); the others are fixed.
 * Where a seed document gives a message, it is used word for word.
 */
#define BILLORD_API_CODE_LIST(X)                                                                  \
    X(BILLORD_API_OK, "OK", 200, "")                                                              \
    X(BILLORD_API_MISSING_PARAMETER, "MissingParameter", 400,                                     \
      "The input parameter \"%s\" that is mandatory for processing this request is not supplied.") \
    X(BILLORD_API_INVALID_PARAMETER, "InvalidParameter", 400,                                     \
      "The specified parameter \"%s\" is not valid.")                                             \
    X(BILLORD_API_INVALID_PERIOD, "InvalidPeriod", 400, "The specified period is not valid.")      \
    X(BILLORD_API_INVALID_PERIOD_UNIT, "InvalidPeriodUnit.ValueNotSupported", 400,                \
      "The specified parameter \"PeriodUnit\" is not valid.")                                     \
    X(BILLORD_API_INVALID_PERIOD_UNIT_403, "InvalidPeriodUnit.ValueNotSupported", 403,            \
      "The specified parameter \"Period\" is not valid.")                                         \
    X(BILLORD_API_INVALID_CLIENT_TOKEN, "InvalidClientToken.ValueNotSupported", 400,              \
      "The ClientToken provided is invalid.")                                                     \
    X(BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH, "IdempotenceParamNotMatch", 400,                   \
      "Request uses a client token in a previous request but is not identical to that request. " \
      "First differing parameter: %s.")                                                           \
    X(BILLORD_API_INVALID_PAYMENT_METHOD_MISSING, "InvalidPaymentMethod.Missing", 400,            \
      "No payment method is specified for your account. We recommend that you add a payment "    \
      "method.")                                                                                  \
    X(BILLORD_API_INVALID_PAY_TYPE, "InvalidPayType", 400, "The specified PayType is not valid.") \
    X(BILLORD_API_INVALID_USED_TIME, "InvalidUsedTime", 400,                                      \
      "The specified UsedTime is not valid.")                                                     \
    X(BILLORD_API_SIGNATURE_DOES_NOT_MATCH, "SignatureDoesNotMatch", 400,                         \
      "The request signature does not conform to Aliyun standards.")                              \
    X(BILLORD_API_INCOMPLETE_SIGNATURE, "IncompleteSignature", 400,                               \
      "The request signature is incomplete: %s.")                                                 \
    X(BILLORD_API_INVALID_TIMESTAMP_EXPIRED, "InvalidTimeStamp.Expired", 400,                     \
      "Specified time stamp or date value is expired.")                                           \
    X(BILLORD_API_SIGNATURE_NONCE_USED, "SignatureNonceUsed", 400,                                \
      "Specified signature nonce was used already.")                                              \
    X(BILLORD_API_LAST_TOKEN_PROCESSING, "LastTokenProcessing", 403,                              \
      "The last token request is processing.")                                                    \
    X(BILLORD_API_CHARGE_TYPE_VIOLATION, "ChargeTypeViolation", 403,                              \
      "The operation is not permitted due to charge type of the instance.")                       \
    X(BILLORD_API_INCORRECT_INSTANCE_STATUS, "IncorrectInstanceStatus", 403,                      \
      "The current status of the resource does not support this operation.")                      \
    X(BILLORD_API_INSTANCE_UNPAID_ORDER, "Instance.UnPaidOrder", 403,                             \
      "The specified instance has unpaid order.")                                                 \
    X(BILLORD_API_INSTANCE_LOCKED_FOR_SECURITY, "InstanceLockedForSecurity", 403,                 \
      "The specified operation is denied as your instance is locked for security reasons.")       \
    X(BILLORD_API_NOT_ENOUGH_BALANCE, "InvalidAccountStatus.NotEnoughBalance", 403,               \
      "Your account does not have enough balance.")                                               \
    X(BILLORD_API_MISSING_INSTANCE_ID, "MissingParameter.InstanceId", 403,                        \
      "InstanceId should not be null.")                                                           \
    X(BILLORD_API_INVALID_INSTANCE_ID_PARAM, "InvalidParameter.InvalidInstanceId", 403,           \
      "The specified InstanceId is not valid: %s.")                                               \
    X(BILLORD_API_INVALID_DURATION, "InvalidParameter.Duration", 403,                             \
      "The specified Duration is not valid: %s.")                                                 \
    X(BILLORD_API_INVALID_RENEWAL_STATUS, "InvalidParameter.RenewalStatus", 403,                  \
      "The specified RenewalStatus is not valid: %s.")                                            \
    X(BILLORD_API_INCORRECT_DB_PAY_TYPE, "IncorrectDBInstancePayType", 403,                       \
      "The pay type of the DB instance does not support this operation.")                         \
    X(BILLORD_API_INCORRECT_DB_STATE, "IncorrectDBInstanceState", 403,                            \
      "The current state of the DB instance does not support this operation.")                    \
    X(BILLORD_API_DB_CLASS_PHASED_OUT, "DBInstanceClass.PhasedOut", 403,                          \
      "The instance type has been phased out. Upgrade the instance to an available type first.")  \
    X(BILLORD_API_INCORRECT_ORDER_STATUS, "IncorrectOrderStatus", 403,                            \
      "The current status of the order does not support this operation.")                         \
    X(BILLORD_API_INSTANCE_NOT_FOUND, "InvalidInstanceId.NotFound", 404,                          \
      "The specified InstanceId does not exist.")                                                 \
    X(BILLORD_API_DB_INSTANCE_NOT_FOUND, "InvalidDBInstanceId.NotFound", 404,                     \
      "The specified DBInstanceId does not exist.")                                               \
    X(BILLORD_API_ORDER_NOT_FOUND, "InvalidOrderId.NotFound", 404,                                \
      "The specified OrderId does not exist.")                                                    \
    X(BILLORD_API_ACCESS_KEY_NOT_FOUND, "InvalidAccessKeyId.NotFound", 404,                       \
      "Specified access key is not found.")                                                       \
    X(BILLORD_API_ACTION_NOT_FOUND, "InvalidAction.NotFound", 404,                                \
      "The specified action is not valid.")                                                       \
    X(BILLORD_API_REQUEST_TOO_LARGE, "RequestTooLarge", 413,                                      \
      "The request exceeds a size limit: %s.")                                                    \
    X(BILLORD_API_INTERNAL_ERROR, "InternalError", 500,                                           \
      "The request processing has failed due to some unknown error.")                             \
    X(BILLORD_API_SERVICE_UNAVAILABLE, "ServiceUnavailable", 503,                                 \
      "The request has failed due to a temporary failure of the server.")

typedef enum billord_api_code {
#define BILLORD_API_ENUM(name, code, status, message) name,
    BILLORD_API_CODE_LIST(BILLORD_API_ENUM)
#undef BILLORD_API_ENUM
    BILLORD_API_CODE_COUNT
} billord_api_code;

/** Wire Code ("InvalidPeriod"); never NULL. */
const char *billord_api_code_text(billord_api_code code);
/** HTTP status of code (200 for BILLORD_API_OK). */
int billord_api_code_status(billord_api_code code);
/** The message template of code ("" for OK); may hold one "%s". */
const char *billord_api_code_message(billord_api_code code);
/** Finds a code by its wire text and status; BILLORD_API_CODE_COUNT when none. */
billord_api_code billord_api_code_find(const char *code_text, int http_status);
/**
 * The answer to a request the machinery failed (err != BILLORD_OK): ServiceUnavailable (503)
 * when a retry may succeed (BILLORD_E_IO, BILLORD_E_NOMEM, BILLORD_E_MAP_FULL,
 * BILLORD_E_DISK_FULL), else InternalError (500: damaged data or a broken invariant).
 */
billord_api_code billord_err_failure_code(billord_err err);

#endif
