--[[
  Take a session's lease for draining its inbox, and read the inbox head in the same step.
  The lease part is exactly acquireLease-2.lua (src/locks/lua): SET NX PX, and only if it
  was free, issue the next fencing token.

  Input:
    KEYS[1] lease  STRING
    KEYS[2] meta   HASH    field `fence`: the highest fence issued or committed
    KEYS[3] inbox  LIST
    ARGV[1] token (random, unique per acquire)
    ARGV[2] TTL in milliseconds (>= 1)

  Output:
    {fence, head}  acquired; fence > every fence before; head is the inbox head or false
    {0}            someone else holds the lease
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {redis.call('HINCRBY', KEYS[2], 'fence', 1), redis.call('LINDEX', KEYS[3], 0)}
end
return {0}
