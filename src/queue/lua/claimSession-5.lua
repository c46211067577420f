--[[
  Take a session's lease for draining its inbox, and read what the head's turn needs in the
  same step: the head, whether its inbound id is already committed (a turn whose worker died
  between commit and pop) and the history. The lease part is exactly acquireLease-2.lua
  (src/locks/lua): SET NX PX, and only if it was free, issue the next fencing token.

  Input:
    KEYS[1] lease  STRING
    KEYS[2] meta   HASH    field `fence`: the highest fence issued or committed
    KEYS[3] inbox  LIST
    KEYS[4] ids    ZSET    the store's committed inbound ids → first cursor
    KEYS[5] log    LIST    the store's entries
    ARGV[1] token (random, unique per acquire)
    ARGV[2] TTL in milliseconds (>= 1)
    ARGV[3] log entries to return (0: none)
    ARGV[4] a meta field whose presence means the session's history is not just its own log
            (the hierarchy's view of a fork or a revert); '' for none
    ARGV[5] '' or a pub/sub channel prefix: announce the head's start (typing indicators, the
            gateway's `executing`) on <prefix><bot id> as {"kind":"started","request":<head>}
            (best effort, like any PUBLISH; it saves the worker a write of its own per kick)

  Output:
    {fence, head, committed, history, after, log length, stitched}
                                       acquired; fence > every fence before; head is the inbox
                                       head or false; committed the head's first cursor or
                                       false; history the newest ARGV[3] entries (raw JSON);
                                       after the inbox entry behind the head, or false;
                                       then the log's length; stitched 1 if the ARGV[4] field
                                       exists (the read-ahead is then not the history), else 0
    {0}                                someone else holds the lease
]]
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local fence = redis.call('HINCRBY', KEYS[2], 'fence', 1)
local stitched = 0
if ARGV[4] ~= '' then stitched = redis.call('HEXISTS', KEYS[2], ARGV[4]) end
local head = redis.call('LINDEX', KEYS[3], 0)
if not head then
  return {fence, false, false, false, false, 0, stitched}
end
local inbound = cjson.decode(head).inbound
if ARGV[5] ~= '' then
  redis.call('PUBLISH', ARGV[5] .. inbound.botId, '{"kind":"started","request":' .. head .. '}')
end
local committed = redis.call('ZSCORE', KEYS[4], inbound.botId .. ':' .. inbound.messageId)
local n = tonumber(ARGV[3])
local history = false
if n > 0 then
  history = redis.call('LRANGE', KEYS[5], -n, -1)
end
return {fence, head, committed, history, redis.call('LINDEX', KEYS[3], 1), redis.call('LLEN', KEYS[5]), stitched}
