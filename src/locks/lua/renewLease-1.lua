--[[
  Extend the lease, only for its holder (compare-and-expire).

  Input:
    KEYS[1] lease  STRING
    ARGV[1] the holder's token
    ARGV[2] new TTL in milliseconds (>= 1)

  Output:
    1  renewed
    0  not held with this token (expired, released, or taken by someone else)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
