--[[
  Accept one turn into its session's inbox, durably, before the platform is acknowledged, and
  add the session's kick job in the same step when it needs one.

  Input:
    KEYS[1] inbox    LIST
    KEYS[2] pending  SET    inbound ids currently in the inbox
    KEYS[3] kicked   STRING a kick job exists or a worker is draining
    KEYS[4] ids      ZSET   the session store's committed inbound ids
    KEYS[5] index    ZSET   session id → when its inbox last needed a kick (the orphan sweep's
                            index; not under the session's hash tag: a non-cluster Redis)
    KEYS[6..11] the BullMQ queue's wait, meta, active, events, marker keys and the job's hash
    ARGV[1] inbound id (idempotency key)
    ARGV[2] the turn request, JSON
    ARGV[3] now (ms)
    ARGV[4] the session id
    ARGV[5] the kick job's id, ARGV[6] its data (JSON), ARGV[7] its options (JSON)

  Output:
    1  queued, and a kick job was added (none was pending)
    2  queued; a kick is already pending, nothing more to do
    3  already in the inbox (a redelivery): nothing to do, its kick was added with it
    0  already committed: nothing to do
]]

--[[
  A kick job written as BullMQ's addStandardJob writes a job (custom id, no parent, no delay, no
  priority, FIFO), so any BullMQ worker of the queue runs it. Adding it here instead of with
  Queue.add saves the ingress a round trip and BullMQ's client-side work on every kick. It is
  tied to BullMQ's layout: test/queue/enqueue-kick.test.ts compares it with Queue.add's, field
  by field, so a BullMQ upgrade that changes the layout fails there.
]]
local function addKickJob()
  local wait, meta, active, events, marker, job = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
  local jobId = ARGV[5]
  local maxEvents = redis.call('HGET', meta, 'opts.maxLenEvents')
  if not maxEvents then
    maxEvents = 10000
    redis.call('HSET', meta, 'opts.maxLenEvents', maxEvents)
  end
  redis.call('HMSET', job, 'name', 'kick', 'data', ARGV[6], 'opts', ARGV[7], 'timestamp', ARGV[3], 'delay', 0, 'priority', 0)
  redis.call('XADD', events, '*', 'event', 'added', 'jobId', jobId, 'name', 'kick')
  -- A paused queue, or one at its global concurrency, gets the job but no marker (workers then
  -- wait, as they would for Queue.add).
  local held = redis.call('HMGET', meta, 'paused', 'concurrency')
  local withheld = held[1] or (held[2] and redis.call('LLEN', active) >= tonumber(held[2]))
  redis.call('LPUSH', wait, jobId)
  if not withheld then redis.call('ZADD', marker, 0, '0') end
  redis.call('XADD', events, 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
end

if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  return 3
end
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('SREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[2])
if redis.call('SET', KEYS[3], ARGV[3], 'NX') then
  -- Whenever a kick is added, the session enters the sweep's index in the same step, so a kick
  -- job lost later (failed for good, removed by hand) is found by the sweep.
  redis.call('ZADD', KEYS[5], 'NX', ARGV[3], ARGV[4])
  addKickJob()
  return 1
end
return 2
