--[[
  End a drain: only if the inbox is empty, clear the kick flag and release the lease, in one
  step. A turn enqueued before this runs is seen here (the worker keeps draining); one
  enqueued after finds no kick flag and adds a new kick job. No turn can be stranded between.

  Input:
    KEYS[1] inbox, KEYS[2] kicked, KEYS[3] lease
    ARGV[1] the caller's lease token

  Output:
    1  done: flag cleared, lease released (if still ours)
    0  the inbox has work: keep draining
]]
if redis.call('LLEN', KEYS[1]) > 0 then
  return 0
end
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
return 1
