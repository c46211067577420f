--[[
  Before delivering outbox entries: check each one's sent record and mark the send as begun.
  A record is per bot and per (kind, inbound id), so a retried turn or a re-claimed entry that
  was already sent is acknowledged without a second send.

  Input:
    KEYS[1] sent  ZSET  `s:<record>` a send began / `d:<record>` sent → ms
    ARGV[1] now (ms)
    ARGV[2..] record names, one per entry

  Output: one code per record, in order
    0  never sent: marked as begun; send it
    1  already sent: do not send, just acknowledge
    2  a send began earlier and never finished (its consumer died mid-send, or is a zombie):
       marked again; send it, and count it as a possible duplicate (invariant I6, docs/reliability.md)
]]
local codes = {}
for i = 2, #ARGV do
  local record = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], 'd:' .. record) then
    codes[#codes + 1] = 1
  elseif redis.call('ZADD', KEYS[1], ARGV[1], 's:' .. record) == 0 then
    codes[#codes + 1] = 2
  else
    codes[#codes + 1] = 0
  end
end
return codes
