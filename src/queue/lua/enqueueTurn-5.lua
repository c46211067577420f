--[[
  Accept one turn into its session's inbox, durably, before the platform is acknowledged.

  Input:
    KEYS[1] inbox    LIST
    KEYS[2] pending  SET    inbound ids currently in the inbox
    KEYS[3] kicked   STRING a kick job exists or a worker is draining
    KEYS[4] ids      ZSET   the session store's committed inbound ids
    KEYS[5] index    ZSET   session id → when its inbox last needed a kick (the orphan sweep's
                            index; not under the session's hash tag: a non-cluster Redis)
    ARGV[1] inbound id (idempotency key)
    ARGV[2] the turn request, JSON
    ARGV[3] now (ms)
    ARGV[4] the session id

  Whenever a kick is needed (1 and 3), the session enters the sweep's index in the same step, so
  a kick job lost before it is added is found by the sweep.

  Output:
    1  queued; the caller must add a kick job (no kick was pending)
    2  queued; a kick is already pending, nothing more to do
    3  already in the inbox (a redelivery); the caller adds a kick job anyway, in case the
       first attempt failed between this script and the job add
    0  already committed: nothing to do
]]
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  redis.call('ZADD', KEYS[5], 'NX', ARGV[3], ARGV[4])
  return 3
end
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('SREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[2])
if redis.call('SET', KEYS[3], ARGV[3], 'NX') then
  redis.call('ZADD', KEYS[5], 'NX', ARGV[3], ARGV[4])
  return 1
end
return 2
