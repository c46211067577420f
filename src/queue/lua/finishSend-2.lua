--[[
  After delivering outbox entries: record the sends, acknowledge the entries in the consumer
  group, and trim what every consumer is done with — one step per batch.

  Trimming keeps every entry that is not acknowledged: entries below the oldest pending one
  were all delivered (the group hands out entries in id order) and none is pending, so all
  are acknowledged; with nothing pending, the same holds below the newest id acknowledged here.
  MINID with `~` trims whole stream nodes only, never past the given id.

  Input:
    KEYS[1] outbox STREAM, KEYS[2] sent ZSET
    ARGV[1] consumer group
    ARGV[2] now (ms)
    ARGV[3] keep sent records this long (ms)
    ARGV[4] keep at most this many sent records
    ARGV[5..] triples: entry id, record name, outcome
              outcome `sent`: record it as sent; `ack`: it was sent before; `drop`: given up,
              unmark (the send failed for good)

  Output:
    number of entries acknowledged
]]
local function newer(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, bms = tonumber(ams), tonumber(bms)
  if ams ~= bms then return ams > bms end
  return tonumber(aseq) > tonumber(bseq)
end

local acked = 0
local highest = nil
for i = 5, #ARGV, 3 do
  local id, record, outcome = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if outcome == 'sent' then
    redis.call('ZADD', KEYS[2], ARGV[2], 'd:' .. record)
    redis.call('ZREM', KEYS[2], 's:' .. record)
  elseif outcome == 'drop' then
    redis.call('ZREM', KEYS[2], 's:' .. record)
  end
  acked = acked + redis.call('XACK', KEYS[1], ARGV[1], id)
  if highest == nil or newer(id, highest) then highest = id end
end

local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
local minId = highest
if tonumber(pending[1]) > 0 then minId = pending[2] end
if minId then
  redis.call('XTRIM', KEYS[1], 'MINID', '~', minId)
end

redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
return acked
