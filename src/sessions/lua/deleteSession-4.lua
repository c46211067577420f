--[[
  Remove a session: its messages, inbound ids, metadata and cursor.

  Only the fence survives, as a one-field meta hash, when it is above 0: fences must never go
  down, or a worker that lost its lease before the delete could out-fence the next holder
  (whose acquire would restart at 1). Such a tombstone is not a session (no `created`).
  The lease key is left to its holder: it expires or is released on its own.

  Input:
    KEYS[1] meta  HASH
    KEYS[2] log   LIST
    KEYS[3] ids   ZSET
    KEYS[4] held  ZSET
    ARGV[1] raw session id

  Output:
    { 0}  deleted
    {-3}  no such session
    {-4}  meta belongs to another session id
]]
local meta, log, ids, held = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local owner = redis.call('HGET', meta, 'id')
if owner and owner ~= ARGV[1] then return {-4} end
if redis.call('HEXISTS', meta, 'created') == 0 then return {-3} end
local fence = tonumber(redis.call('HGET', meta, 'fence') or '0')
redis.call('DEL', meta, log, ids, held)
if fence > 0 then redis.call('HSET', meta, 'fence', string.format('%d', fence)) end
return {0}
