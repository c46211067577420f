--[[
  Release the lease, only for its holder (compare-and-delete).

  Input:
    KEYS[1] lease  STRING
    ARGV[1] the holder's token

  Output:
    1  released
    0  not held with this token (expired, or taken by someone else: left alone)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
