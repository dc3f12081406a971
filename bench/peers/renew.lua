-- The billord idempotency workload in one atomic script (EVALSHA, appendfsync always: the reply
-- leaves only after the AOF write is fsynced).
-- KEYS[1] idem:<account>:<token>; ARGV: account, token, InstanceId, Period, PeriodUnit, RequestId.
-- Returns {0, response} new order, {1, response} replay, {2, code} fingerprint mismatch.
local key = KEYS[1]
-- Fingerprint of the canonical business parameters (the token is not part of it).
local fingerprint = redis.sha1hex(ARGV[1] .. '\nRenewInstance\nInstanceId=' .. ARGV[3] ..
                                  '\nPeriod=' .. ARGV[4] .. '\nPeriodUnit=' .. ARGV[5])
local claimed = redis.call('HMGET', key, 'fingerprint', 'response')
if claimed[1] then
  if claimed[1] == fingerprint then
    return {1, claimed[2]}
  end
  return {2, 'IdempotenceParamNotMatch'}
end
local order_id = tostring(redis.call('INCR', 'orders:next_id'))
redis.call('HSET', 'order:' .. order_id, 'account', ARGV[1], 'instance', ARGV[3], 'period', ARGV[4],
           'period_unit', ARGV[5], 'amount_micros', tostring(1000 * tonumber(ARGV[4])), 'token', ARGV[2])
local response = '{"RequestId":"' .. ARGV[6] .. '","OrderId":"' .. order_id .. '"}'
redis.call('HSET', key, 'fingerprint', fingerprint, 'response', response, 'order_id', order_id)
return {0, response}
