-- pgbench cross-check of peerbench's PostgreSQL numbers (new tokens only), e.g.
--   pgbench -n -h 127.0.0.1 -p PORT -U bench -M prepared -c 64 -j 2 -T 10 -f bench/peers/pgbench-new.sql bench
-- on a server made by bench/peers/postgres.sh (bench/peers/pgbench-check.sh does it all).
\set n random(1, 1000000000000)
\set instance random(0, 9999)
SELECT status, replay FROM renew_instance('8000000000000008', 'pg-' || :client_id || '-' || :n,
       'i-bench' || lpad(:instance::text, 7, '0'), 1, 'Week', 'pgbench-' || :client_id || '-' || :n);
