--[[
  Read the oldest `limit` kept entries with cursor > `after`, consistently with the cursor.
  Cost is O(returned): the list holds consecutive cursors ending at `last`, so the index of a
  cursor is cursor - (last - LLEN + 1). With ARGV[4] = '1' the entries kept for retention
  holds (`held`, all older than the list's first) come first.

  Input:
    KEYS[1] meta  HASH (field `last`)
    KEYS[2] log   LIST of JSON entries
    KEYS[3] held  ZSET entry JSON -> cursor

    ARGV[1] raw session id
    ARGV[2] after: an integer >= 0
    ARGV[3] limit: an integer >= 1, or -1 for no limit
    ARGV[4] '1': include held entries

  Output:
    { 0, entry JSON, ... }  oldest first (just {0} when nothing matches or no session)
    {-4}                    meta belongs to another session id
]]
local meta, log = KEYS[1], KEYS[2]
local after, limit = tonumber(ARGV[2]), tonumber(ARGV[3])

local owner = redis.call('HGET', meta, 'id')
if owner and owner ~= ARGV[1] then return {-4} end

local len = redis.call('LLEN', log)
local last = tonumber(redis.call('HGET', meta, 'last') or '0')
local firstKept = last - len + 1
local out = {0}
if ARGV[4] == '1' and after + 1 < firstKept then
  local args = {KEYS[3], '(' .. string.format('%d', after), '(' .. string.format('%d', firstKept)}
  if limit >= 0 then
    args[#args + 1] = 'LIMIT'
    args[#args + 1] = 0
    args[#args + 1] = limit
  end
  for _, e in ipairs(redis.call('ZRANGEBYSCORE', unpack(args))) do out[#out + 1] = e end
  if limit >= 0 then
    limit = limit - (#out - 1)
    if limit == 0 then return out end
  end
end
if len == 0 then return out end
local from = math.max(after + 1, firstKept)
if from > last then return out end

local start = from - firstKept
local stop = -1
if limit >= 0 then stop = start + limit - 1 end
for _, e in ipairs(redis.call('LRANGE', log, start, stop)) do out[#out + 1] = e end
return out
