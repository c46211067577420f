--[[
  Drop a session's messages, held ones too, and the retention holds on them (a hold never
  claims entries that are gone). Meta stays: the cursor keeps counting, the fence and other
  metadata survive, and the inbound ids (a separate key) are still remembered.

  Input:
    KEYS[1] meta  HASH
    KEYS[2] log   LIST
    KEYS[3] held  ZSET
    ARGV[1] raw session id

  Output:
    { 0}  cleared
    {-3}  no such session
    {-4}  meta belongs to another session id
]]
local meta, log = KEYS[1], KEYS[2]
local owner = redis.call('HGET', meta, 'id')
if owner and owner ~= ARGV[1] then return {-4} end
if redis.call('HEXISTS', meta, 'created') == 0 then return {-3} end
redis.call('DEL', log, KEYS[3])
for _, field in ipairs(redis.call('HKEYS', meta)) do
  if string.sub(field, 1, 18) == 'md:hierarchy.hold.' then redis.call('HDEL', meta, field) end
end
return {0}
