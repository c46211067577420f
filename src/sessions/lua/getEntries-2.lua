--[[
  Read the oldest `limit` kept entries with cursor > `after`, consistently with the cursor.
  Cost is O(returned): the list holds consecutive cursors ending at `last`, so the index of a
  cursor is cursor - (last - LLEN + 1).

  Input:
    KEYS[1] meta  HASH (field `last`)
    KEYS[2] log   LIST of JSON entries

    ARGV[1] raw session id
    ARGV[2] after: an integer >= 0
    ARGV[3] limit: an integer >= 1, or -1 for no limit

  Output:
    { 0, entry JSON, ... }  oldest first (just {0} when nothing matches or no session)
    {-4}                    meta belongs to another session id
]]
local meta, log = KEYS[1], KEYS[2]
local after, limit = tonumber(ARGV[2]), tonumber(ARGV[3])

local owner = redis.call('HGET', meta, 'id')
if owner and owner ~= ARGV[1] then return {-4} end

local len = redis.call('LLEN', log)
if len == 0 then return {0} end
local last = tonumber(redis.call('HGET', meta, 'last') or '0')
local firstKept = last - len + 1
local from = math.max(after + 1, firstKept)
if from > last then return {0} end

local start = from - firstKept
local stop = -1
if limit >= 0 then stop = start + limit - 1 end
local out = redis.call('LRANGE', log, start, stop)
table.insert(out, 1, 0)
return out
