--[[
  Remove a finished turn (committed and delivered, or dead-lettered) from the inbox head,
  only while the caller still holds the session lease.

  Input:
    KEYS[1] inbox, KEYS[2] pending, KEYS[3] tries, KEYS[4] lease
    ARGV[1] inbound id
    ARGV[2] the exact JSON at the inbox head the caller ran
    ARGV[3] the caller's lease token

  Output:
    {1, next head or false}  removed; the next turn to run comes along (saves a round trip)
    {0, head or false}       the head is not that turn (already removed)
    {-1}                     the caller does not hold the lease: nothing changed
]]
if redis.call('GET', KEYS[4]) ~= ARGV[3] then
  return {-1}
end
local head = redis.call('LINDEX', KEYS[1], 0)
if head ~= ARGV[2] then
  return {0, head}
end
redis.call('LPOP', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return {1, redis.call('LINDEX', KEYS[1], 0)}
