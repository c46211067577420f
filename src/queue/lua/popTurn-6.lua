--[[
  Finish the inbox head: optionally publish its reply, remove it, and if the inbox is now
  empty end the drain (clear the kick flag, release the lease) — one atomic step, only while
  the caller still holds the session lease.

  Publishing here makes "sent" and "recorded as done" one event: no crash can fall between
  them, so a pub/sub reply is delivered exactly once.

  The worker may send this script in the same round trip as the turn's commit (Redis runs them
  in order). Then ARGV[6] is set: the turn must have been committed (its inbound id is in the
  store's ids), and the reply's cursor is spliced in as ARGV[5] .. cursor .. ARGV[6]. Under
  the caller's lease no other worker can commit this inbound id (it would carry an older
  fence), so a commit found here is the caller's own.

  Input:
    KEYS[1] inbox, KEYS[2] pending, KEYS[3] tries, KEYS[4] lease, KEYS[5] kicked,
    KEYS[6] ids (the session store's committed inbound ids, inbound id → first cursor)
    ARGV[1] inbound id
    ARGV[2] the exact JSON at the inbox head the caller ran
    ARGV[3] the caller's lease token
    ARGV[4] channel to publish the reply on, or '' for none
    ARGV[5] the message to publish (or, with ARGV[6], the part before the cursor)
    ARGV[6] '' or the part of the message after the cursor

  Output:
    {1, next head, 0}  removed; run `next head` next
    {1, false, 1}      removed; the inbox is empty: flag cleared, lease released
    {0, head, 0}       the head is not that turn (already removed); nothing published
    {-1}               the caller does not hold the lease: nothing changed
    {-2}               ARGV[6] set but the turn is not committed: nothing changed
]]
if redis.call('GET', KEYS[4]) ~= ARGV[3] then
  return {-1}
end
local head = redis.call('LINDEX', KEYS[1], 0)
if head ~= ARGV[2] then
  return {0, head, 0}
end
local message = ARGV[5]
if ARGV[6] ~= '' then
  local first = redis.call('ZSCORE', KEYS[6], ARGV[1])
  if not first then
    return {-2}
  end
  -- The assistant entry follows the user entry that got the first cursor.
  message = ARGV[5] .. tostring(tonumber(first) + 1) .. ARGV[6]
end
if ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[4], message)
end
redis.call('LPOP', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local nextHead = redis.call('LINDEX', KEYS[1], 0)
if not nextHead then
  redis.call('DEL', KEYS[5])
  redis.call('DEL', KEYS[4])
  return {1, false, 1}
end
return {1, nextHead, 0}
