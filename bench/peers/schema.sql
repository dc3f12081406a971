-- The billord idempotency workload on PostgreSQL: Stripe's idempotency-key table
-- (https://brandur.org/idempotency-keys) and an orders table. renew_instance is one
-- transaction (one round trip): claim the key with INSERT ... ON CONFLICT DO NOTHING; on
-- conflict compare the fingerprint and return the stored response; else create the order
-- and store the response. Durable at commit (synchronous_commit = on, fsync = on).
DROP FUNCTION IF EXISTS renew_instance(text, text, text, int, text, text);
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS idempotency_keys;

CREATE TABLE idempotency_keys (
    id              bigserial   PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    idempotency_key text        NOT NULL CHECK (char_length(idempotency_key) <= 100),
    last_run_at     timestamptz NOT NULL DEFAULT now(),
    locked_at       timestamptz DEFAULT now(),
    request_method  text        NOT NULL CHECK (char_length(request_method) <= 10),
    request_params  jsonb       NOT NULL,
    request_path    text        NOT NULL CHECK (char_length(request_path) <= 100),
    fingerprint     bytea       NOT NULL,
    response_code   int         NULL,
    response_body   jsonb       NULL,
    recovery_point  text        NOT NULL CHECK (char_length(recovery_point) <= 50),
    user_id         text        NOT NULL,
    UNIQUE (user_id, idempotency_key)
);

CREATE TABLE orders (
    id                 bigserial   PRIMARY KEY,
    created_at         timestamptz NOT NULL DEFAULT now(),
    idempotency_key_id bigint      NOT NULL REFERENCES idempotency_keys,
    account            text        NOT NULL,
    instance_id        text        NOT NULL,
    period             int         NOT NULL,
    period_unit        text        NOT NULL,
    amount_micros      bigint      NOT NULL
);

CREATE FUNCTION renew_instance(p_account text, p_token text, p_instance text, p_period int,
                               p_unit text, p_request_id text,
                               OUT status int, OUT replay boolean, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_params jsonb := jsonb_build_object('InstanceId', p_instance, 'Period', p_period,
                                         'PeriodUnit', p_unit);
    v_fingerprint bytea := sha256(convert_to(p_account || E'\nRenewInstance\nInstanceId=' ||
                                             p_instance || E'\nPeriod=' || p_period ||
                                             E'\nPeriodUnit=' || p_unit, 'UTF8'));
    v_key_id bigint;
    v_order_id bigint;
    v_stored bytea;
BEGIN
    INSERT INTO idempotency_keys (idempotency_key, request_method, request_params, request_path,
                                  fingerprint, recovery_point, user_id)
    VALUES (p_token, 'GET', v_params, '/?Action=RenewInstance', v_fingerprint, 'started', p_account)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING id INTO v_key_id;
    IF v_key_id IS NULL THEN
        SELECT k.fingerprint, k.response_code, k.response_body INTO v_stored, status, body
        FROM idempotency_keys k WHERE k.user_id = p_account AND k.idempotency_key = p_token;
        IF v_stored <> v_fingerprint THEN
            status := 400;
            replay := false;
            body := '{"Code":"IdempotenceParamNotMatch"}';
            RETURN;
        END IF;
        replay := true;
        RETURN;
    END IF;
    INSERT INTO orders (idempotency_key_id, account, instance_id, period, period_unit, amount_micros)
    VALUES (v_key_id, p_account, p_instance, p_period, p_unit, 1000 * p_period)
    RETURNING id INTO v_order_id;
    status := 200;
    replay := false;
    body := jsonb_build_object('RequestId', p_request_id, 'OrderId', v_order_id::text);
    UPDATE idempotency_keys
    SET response_code = status, response_body = body, recovery_point = 'finished', locked_at = NULL
    WHERE id = v_key_id;
END
$$;
