--[[
  Read a session's meta hash, its kept-message count and its held count in one consistent step.

  Input:
    KEYS[1] meta  HASH
    KEYS[2] log   LIST
    KEYS[3] held  ZSET  entries kept for retention holds
    ARGV[1] raw session id

  Output:
    { 0, LLEN log, {field, value, ...}, ZCARD held }  the whole meta hash (md:<key> fields hold JSON)
    {-3}                                  no such session (a lease-only or deleted meta has no `created`)
    {-4}                                  meta belongs to another session id
]]
local meta, log = KEYS[1], KEYS[2]
local owner = redis.call('HGET', meta, 'id')
if owner and owner ~= ARGV[1] then return {-4} end
if redis.call('HEXISTS', meta, 'created') == 0 then return {-3} end
return {0, redis.call('LLEN', log), redis.call('HGETALL', meta), redis.call('ZCARD', KEYS[3])}
