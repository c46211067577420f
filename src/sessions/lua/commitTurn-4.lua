--[[
  Commit one turn atomically: dedupe, fence check, append, trim, advance the cursor.
  Appending is O(entries): RPUSH + LTRIM, never a rewrite of the history. What the trim drops
  and a retention hold covers (meta fields md:hierarchy.hold.* = [[a, u], ...]: keep cursors in
  (a, u], see retention-holds.ts) moves to `held`; held entries no hold covers any more go.

  Input:
    KEYS[1] meta  HASH  id, created, updated, last (cursor), fence, md:<key>
    KEYS[2] log   LIST  JSON entries {c, ts, r, m, md?}; cursors consecutive
    KEYS[3] ids   ZSET  inbound id -> first cursor it got
    KEYS[4] held  ZSET  entry JSON -> cursor: trimmed entries kept for holds

    ARGV[1] raw session id (detects a collision of two ids' encoded names)
    ARGV[2] timestamp, ms since the epoch
    ARGV[3] messages kept in the log (>= 1)
    ARGV[4] inbound ids remembered (>= 1)
    ARGV[5] inbound id, '' for none
    ARGV[6] fence, '' for none
    ARGV[7..] entry bodies: JSON objects without c and ts, e.g. {"r":"user","m":"hi"}

  Output (first element is the code; see redis-script-codes.ts):
     { 0, first cursor}          committed; cursors first .. first + #entries - 1
     {-1, earlier first cursor}  duplicate inbound id; nothing appended
     {-2, highest fence}         stale fence; nothing appended, inbound id not recorded
     {-4, 0}                     meta belongs to another session id
]]
local meta, log, ids, held = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, ts, inbound, fence = ARGV[1], ARGV[2], ARGV[5], ARGV[6]
local maxMessages, maxIds = tonumber(ARGV[3]), tonumber(ARGV[4])

local owner = redis.call('HGET', meta, 'id')
if owner and owner ~= id then return {-4, 0} end

-- Dedupe first: a redelivered message is answered with the cursor it already got, whatever
-- fence the retry carries.
if inbound ~= '' then
  local earlier = redis.call('ZSCORE', ids, inbound)
  if earlier then return {-1, tonumber(earlier)} end
end

-- `fence` holds the highest fence issued (lease acquire) or committed; lower means the
-- caller's lease was lost and someone newer may be writing.
if fence ~= '' then
  local highest = tonumber(redis.call('HGET', meta, 'fence') or '0')
  if tonumber(fence) < highest then return {-2, highest} end
  redis.call('HSET', meta, 'fence', fence)
end

if redis.call('HEXISTS', meta, 'created') == 0 then
  redis.call('HSET', meta, 'id', id, 'created', ts)
end

local count = #ARGV - 6
local last = redis.call('HINCRBY', meta, 'last', count)
local first = last - count + 1

-- Entries that LTRIM would drop at once are never pushed; unpack is bounded, so push in batches.
local batch = {}
for i = math.max(7, #ARGV - maxMessages + 1), #ARGV do
  batch[#batch + 1] = '{"c":' .. string.format('%d', first + i - 7) .. ',"ts":' .. ts .. ',' .. string.sub(ARGV[i], 2)
  if #batch == 500 then
    redis.call('RPUSH', log, unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('RPUSH', log, unpack(batch)) end

local overflow = redis.call('LLEN', log) - maxMessages
if overflow > 0 then
  -- The holds, merged: sorted by start, overlapping ranges joined.
  local ranges = {}
  for _, field in ipairs(redis.call('HKEYS', meta)) do
    if string.sub(field, 1, 18) == 'md:hierarchy.hold.' then
      local ok, value = pcall(cjson.decode, redis.call('HGET', meta, field))
      if ok and type(value) == 'table' then
        for _, r in ipairs(value) do
          if type(r) == 'table' and type(r[1]) == 'number' and type(r[2]) == 'number' and r[2] > r[1] then
            ranges[#ranges + 1] = {r[1], r[2]}
          end
        end
      end
    end
  end
  table.sort(ranges, function(x, y) return x[1] < y[1] end)
  local merged = {}
  for _, r in ipairs(ranges) do
    local last = merged[#merged]
    if last and r[1] <= last[2] then
      if r[2] > last[2] then last[2] = r[2] end
    else
      merged[#merged + 1] = {r[1], r[2]}
    end
  end
  if #merged > 0 then
    for _, e in ipairs(redis.call('LRANGE', log, 0, overflow - 1)) do
      local c = tonumber(string.match(e, '^{"c":(%d+)'))
      if c then
        for _, r in ipairs(merged) do
          if c > r[1] and c <= r[2] then
            redis.call('ZADD', held, c, e)
            break
          end
        end
      end
    end
  end
  -- Release what no hold covers: everything outside the merged ranges.
  if redis.call('EXISTS', held) == 1 then
    if #merged == 0 then
      redis.call('DEL', held)
    else
      local from = '-inf'
      for _, r in ipairs(merged) do
        redis.call('ZREMRANGEBYSCORE', held, from, string.format('%d', r[1]))
        from = '(' .. string.format('%d', r[2])
      end
      redis.call('ZREMRANGEBYSCORE', held, from, '+inf')
    end
  end
  redis.call('LTRIM', log, -maxMessages, -1)
end

if inbound ~= '' then
  redis.call('ZADD', ids, first, inbound)
  redis.call('ZREMRANGEBYRANK', ids, 0, -(maxIds + 1))
end
redis.call('HSET', meta, 'updated', ts)
return {0, first}
