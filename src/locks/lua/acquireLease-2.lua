--[[
  Take a session's lease and, only if it was free, issue the next fencing token.

  Input:
    KEYS[1] lease  STRING  holder's token, expires after the TTL
    KEYS[2] meta   HASH    field `fence`: the highest fence issued or committed
    ARGV[1] token (random, unique per acquire)
    ARGV[2] TTL in milliseconds (>= 1)

  Output:
    fence > 0  acquired; strictly greater than every fence issued or committed before
    0          someone else holds the lease
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('HINCRBY', KEYS[2], 'fence', 1)
end
return 0
