--[[
  Finish the inbox head: optionally append its reply (or failure notice) to the bot's outbox
  stream and a dead-letter record, remove the head, and if the inbox is now empty end the
  drain (clear the kick flag, release the lease) — one atomic step, only while the caller still
  holds the session lease.

  Appending here makes "reply produced" and "turn recorded as done" one event: no crash can
  fall between them, so each reply enters the outbox exactly once, and a dead letter is
  written exactly once (only one pop of a head can succeed).

  The worker may send this script in the same round trip as the turn's commit (Redis runs them
  in order). Then ARGV[5] is set: the turn must have been committed (its inbound id is in the
  store's ids), and the reply's cursor is spliced in as ARGV[4] .. cursor .. ARGV[5]. Under
  the caller's lease no other worker can commit this inbound id (it would carry an older
  fence), so a commit found here is the caller's own.

  The reply carries the entry after the next head (so the worker can run the next turn while
  this pop is in flight) and, with ARGV[8] > 0, the newest ARGV[8] log entries (raw JSON), i.e.
  the history the next head's turn needs; a worker that knows this turn's history computes the
  next one itself and passes 0. A busy session costs one round trip per turn.

  Pipelining guard (ARGV[9] = '1'): the caller has sent a commit of the next turn, under the same
  fence, right behind this pop. If this pop fails because this turn is not committed, or because
  the lease expired with nobody holding it, the session's fence is raised, so that next commit is
  rejected as stale: no turn can be committed after a turn that was not. (If another worker holds
  the lease, its acquire already raised the fence.)

  Keys KEYS[1..7] and KEYS[10] share the session's hash tag; KEYS[8] (the bot's outbox) and KEYS[9] do not:
  this script needs a non-cluster Redis (a primary, optionally with replicas or Sentinel).

  Input:
    KEYS[1] inbox, KEYS[2] pending, KEYS[3] tries, KEYS[4] lease, KEYS[5] kicked,
    KEYS[6] ids (the session store's committed inbound ids, inbound id → first cursor),
    KEYS[7] log (the session store's entries),
    KEYS[8] outbox STREAM of the inbound's bot, KEYS[9] dead-letter LIST,
    KEYS[10] meta (the session store's HASH; field `fence`)
    ARGV[1] inbound id
    ARGV[2] the exact JSON at the inbox head the caller ran
    ARGV[3] the caller's lease token
    ARGV[4] the outbox message, '' for none (with ARGV[5]: the part before the cursor)
    ARGV[5] '' or the part of the message after the cursor
    ARGV[6] dead-letter record (JSON) or '' for none
    ARGV[7] outbox length cap (approximate MAXLEN; a safety bound, consumers trim acked entries)
    ARGV[8] log entries to return for the next head (0: none)
    ARGV[9] '1': a commit of the next turn follows under this fence (see the guard above)
    ARGV[10] '' or the log length the caller expects after this turn's commit: it computed the
             next turn's history itself, from what it read and committed. If the log is not
             that long (a /new or `bot session clear` ran, or someone else appended), the
             fence is raised (the next commit under it is rejected) and the reply says `stale`.

  Output:
    {1, next head, 0, history, after, stale, log length}
                                       removed; run `next head` next (history: list, oldest
                                       first, or false; after: the entry behind it, or false;
                                       stale: 1 when ARGV[10] did not match, else 0)
    {1, false, 1}               removed; the inbox is empty: flag cleared, lease released
    {0, head, 0}                the head is not that turn (already removed); nothing appended
    {-1}                        the caller does not hold the lease: nothing changed
    {-2}                        ARGV[5] set but the turn is not committed: nothing changed
]]
local holder = redis.call('GET', KEYS[4])
if holder ~= ARGV[3] then
  if ARGV[9] == '1' and not holder then
    redis.call('HINCRBY', KEYS[10], 'fence', 1)
  end
  return {-1}
end
local head = redis.call('LINDEX', KEYS[1], 0)
if head ~= ARGV[2] then
  return {0, head, 0}
end
local message = ARGV[4]
if ARGV[5] ~= '' then
  local first = redis.call('ZSCORE', KEYS[6], ARGV[1])
  if not first then
    if ARGV[9] == '1' then
      redis.call('HINCRBY', KEYS[10], 'fence', 1)
    end
    return {-2}
  end
  -- The assistant entry follows the user entry that got the first cursor.
  message = ARGV[4] .. tostring(tonumber(first) + 1) .. ARGV[5]
end
if message ~= '' then
  redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[7], '*', 'i', ARGV[1], 'm', message)
end
if ARGV[6] ~= '' then
  redis.call('LPUSH', KEYS[9], ARGV[6])
end
local stale = 0
if ARGV[10] ~= '' and redis.call('LLEN', KEYS[7]) ~= tonumber(ARGV[10]) then
  stale = 1
  redis.call('HINCRBY', KEYS[10], 'fence', 1)
end
redis.call('LPOP', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local nextHead = redis.call('LINDEX', KEYS[1], 0)
if not nextHead then
  redis.call('DEL', KEYS[5])
  redis.call('DEL', KEYS[4])
  return {1, false, 1, false, false, stale}
end
local n = tonumber(ARGV[8])
local history = false
if n > 0 then
  history = redis.call('LRANGE', KEYS[7], -n, -1)
end
return {1, nextHead, 0, history, redis.call('LINDEX', KEYS[1], 1), stale, redis.call('LLEN', KEYS[7])}
