--[[
  Shallow-merge a metadata patch, creating the session if needed, when the expected values hold.
  Each metadata key is its own `md:<key>` field holding the value's JSON, so merging never
  decodes JSON in Lua (cjson would turn [] into {} and round numbers to 14 digits).

  Input:
    KEYS[1] meta  HASH
    ARGV[1] raw session id
    ARGV[2] timestamp, ms since the epoch
    ARGV[3] n, the number of expected pairs that follow
    ARGV[4 .. 3+2n] expected pairs: field `md:<key>`, then the value's JSON or '' for absent
    ARGV[4+2n ..] patch pairs: field `md:<key>`, then the value's JSON or '' to remove the key

  Output:
    { 0}  merged
    {-4}  meta belongs to another session id
    {-6}  an expected value does not hold; nothing changed
]]
local meta = KEYS[1]
local owner = redis.call('HGET', meta, 'id')
if owner and owner ~= ARGV[1] then return {-4} end
local n = tonumber(ARGV[3])
for i = 4, 3 + 2 * n, 2 do
  local current = redis.call('HGET', meta, ARGV[i]) or ''
  if current ~= ARGV[i + 1] then return {-6} end
end
if redis.call('HEXISTS', meta, 'created') == 0 then
  redis.call('HSET', meta, 'id', ARGV[1], 'created', ARGV[2], 'last', '0')
end
for i = 4 + 2 * n, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', meta, ARGV[i])
  else
    redis.call('HSET', meta, ARGV[i], ARGV[i + 1])
  end
end
redis.call('HSET', meta, 'updated', ARGV[2])
return {0}
