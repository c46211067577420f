--[[
  Import a whole session with its own cursors (`bot session migrate`), only if it does not
  exist. A fence tombstone (meta without `created`) is not a session: it is replaced, keeping
  the higher fence.

  Input:
    KEYS[1] meta  HASH  id, created, updated, last (cursor), fence, md:<key>
    KEYS[2] log   LIST  JSON entries {c, ts, r, m, md?}
    KEYS[3] ids   ZSET  inbound id -> first cursor

    ARGV[1] raw session id
    ARGV[2] created, ARGV[3] updated (ms since the epoch), ARGV[4] last cursor, ARGV[5] fence
    ARGV[6] m = number of metadata fields, then m pairs: field `md:<key>`, value JSON
    then k = number of inbound ids, then k pairs: inbound id, first cursor
    then the entries, each a complete JSON entry, oldest first

  Output:
    { 0}  imported
    {-5}  the session exists; nothing changed
    {-4}  meta belongs to another session id
]]
local meta, log, ids = KEYS[1], KEYS[2], KEYS[3]
local owner = redis.call('HGET', meta, 'id')
if owner and owner ~= ARGV[1] then return {-4} end
if redis.call('HEXISTS', meta, 'created') == 1 then return {-5} end

local fence = math.max(tonumber(redis.call('HGET', meta, 'fence') or '0'), tonumber(ARGV[5]))
redis.call('DEL', meta, log, ids)
redis.call('HSET', meta, 'id', ARGV[1], 'created', ARGV[2], 'updated', ARGV[3], 'last', ARGV[4])
if fence > 0 then redis.call('HSET', meta, 'fence', string.format('%d', fence)) end

local i = 7
for _ = 1, tonumber(ARGV[6]) do
  redis.call('HSET', meta, ARGV[i], ARGV[i + 1])
  i = i + 2
end
local k = tonumber(ARGV[i])
i = i + 1
for _ = 1, k do
  redis.call('ZADD', ids, ARGV[i + 1], ARGV[i])
  i = i + 2
end
-- unpack is bounded, so push in batches.
local batch = {}
for j = i, #ARGV do
  batch[#batch + 1] = ARGV[j]
  if #batch == 500 then
    redis.call('RPUSH', log, unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('RPUSH', log, unpack(batch)) end
return {0}
