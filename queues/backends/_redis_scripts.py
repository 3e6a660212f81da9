"""Lua scripts of the Redis queue store; each runs atomically inside Redis.

Every key a script touches belongs to one queue and carries that queue's hash
tag, so each script stays legal on Redis Cluster. KEYS, in this order, are the
queue's ``s`` (stream), ``d`` (delayed zset), ``m`` (delayed messages hash),
``l`` (leases zset), ``r`` (redeliveries hash), ``b`` (batches zset) and ``n``
(stats hash) keys. Times are milliseconds of the caller's clock.

A stream entry holds ``i`` (message id), ``c`` (content type), ``t`` (send
time, s), ``a`` (deliveries before this entry), ``v`` (when it became ready,
ms) and ``b`` (body). A delayed message is ``c \\n t \\n a \\n body`` under its id.
"""

from __future__ import annotations

GROUP = "ew"  # the consumer group of every queue stream

# Shared prelude: create the stream and group on demand; move due delayed messages
# into the stream (at most 500 per call, so one call never holds Redis for long).
_PRELUDE = """
local function ensure_group()
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('XGROUP', 'CREATE', KEYS[1], 'ew', '0', 'MKSTREAM')
  end
end
local function move_due(now)
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 500)
  for i = 1, #due, 2 do
    local id = due[i]
    local packed = redis.call('HGET', KEYS[3], id)
    if packed then
      local p1 = string.find(packed, '\\n', 1, true)
      local p2 = string.find(packed, '\\n', p1 + 1, true)
      local p3 = string.find(packed, '\\n', p2 + 1, true)
      ensure_group()
      redis.call('XADD', KEYS[1], '*', 'i', id, 'c', string.sub(packed, 1, p1 - 1),
        't', string.sub(packed, p1 + 1, p2 - 1), 'a', string.sub(packed, p2 + 1, p3 - 1),
        'v', due[i + 1], 'b', string.sub(packed, p3 + 1))
      redis.call('HDEL', KEYS[3], id)
    end
    redis.call('ZREM', KEYS[2], id)
  end
  return #due / 2
end
local function add(now, id, ct, ts, attempts, vis, body)
  if tonumber(vis) <= tonumber(now) then
    ensure_group()
    redis.call('XADD', KEYS[1], '*', 'i', id, 'c', ct, 't', ts, 'a', attempts, 'v', vis, 'b', body)
  else
    redis.call('HSET', KEYS[3], id, ct .. '\\n' .. ts .. '\\n' .. attempts .. '\\n' .. body)
    redis.call('ZADD', KEYS[2], vis, id)
  end
end
local function remove(entry)
  redis.call('XACK', KEYS[1], 'ew', entry)
  redis.call('XDEL', KEYS[1], entry)
  redis.call('ZREM', KEYS[4], entry)
  redis.call('HDEL', KEYS[5], entry)
end
"""

# ARGV: now, then (id, content type, timestamp, attempts, visible at, body) per message.
SEND = (
    _PRELUDE
    + """
local bytes = 0
for i = 2, #ARGV, 6 do
  add(ARGV[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5])
  bytes = bytes + #ARGV[i + 5]
end
redis.call('HINCRBY', KEYS[7], 'bytes', bytes)
return 1
"""
)

# ARGV: now, limit, lease deadline, max concurrency, batch token, consumer name.
# Returns {entry id, fields, redeliveries} per leased entry ({} when none or no slot):
# first entries whose lease ran out (XCLAIM), then never-delivered ones (XREADGROUP).
CLAIM = (
    _PRELUDE
    + """
move_due(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[6]) >= tonumber(ARGV[4]) then return {} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local limit = tonumber(ARGV[2])
local out = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[1], 'LIMIT', 0, limit)
if #expired > 0 then
  redis.call('ZREM', KEYS[4], unpack(expired))
  local claimed = redis.call('XCLAIM', KEYS[1], 'ew', ARGV[6], 0, unpack(expired))
  for _, e in ipairs(claimed) do
    if e and e[2] then
      table.insert(out, {e[1], e[2], redis.call('HINCRBY', KEYS[5], e[1], 1)})
    end
  end
end
if #out < limit then
  local res = redis.call('XREADGROUP', 'GROUP', 'ew', ARGV[6], 'COUNT', limit - #out,
    'STREAMS', KEYS[1], '>')
  if res then
    for _, e in ipairs(res[1][2]) do table.insert(out, {e[1], e[2], 0}) end
  end
end
if #out == 0 then return {} end
for _, e in ipairs(out) do redis.call('ZADD', KEYS[4], ARGV[3], e[1]) end
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[5])
return out
"""
)

# ARGV: now, token, lease deadline, bytes removed, number of entries to remove, those
# entry ids, then (entry id, message id, content type, timestamp, attempts, visible at)
# per retry. A retry applies only while the entry is still leased by this batch (its
# lease score is this batch's deadline); otherwise another consumer has it now.
SETTLE = (
    _PRELUDE
    + """
local n = tonumber(ARGV[5])
for i = 6, 5 + n do remove(ARGV[i]) end
for i = 6 + n, #ARGV, 6 do
  local entry = ARGV[i]
  if tonumber(redis.call('ZSCORE', KEYS[4], entry)) == tonumber(ARGV[3]) then
    local found = redis.call('XRANGE', KEYS[1], entry, entry)
    if #found == 1 then
      local fields = found[1][2]
      local body = ''
      for j = 1, #fields, 2 do if fields[j] == 'b' then body = fields[j + 1] end end
      remove(entry)
      add(ARGV[1], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], body)
    end
  end
end
redis.call('ZREM', KEYS[6], ARGV[2])
redis.call('HINCRBY', KEYS[7], 'bytes', 0 - tonumber(ARGV[4]))
return 1
"""
)

# ARGV: now, limit. Returns {ready (up to limit), oldest ready ms or '', next ms or ''}.
READINESS = (
    _PRELUDE
    + """
move_due(ARGV[1])
local limit = tonumber(ARGV[2])
local count, oldest, nxt = 0, nil, nil
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, limit)
if #expired > 0 then
  count = #expired / 2
  oldest = tonumber(expired[2])
end
if count < limit and redis.call('EXISTS', KEYS[1]) == 1 then
  local last = '0-0'
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local fields = {}
    for j = 1, #g, 2 do fields[g[j]] = g[j + 1] end
    if fields['name'] == 'ew' then last = fields['last-delivered-id'] end
  end
  local fresh = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', limit - count)
  for _, e in ipairs(fresh) do
    count = count + 1
    for j = 1, #e[2], 2 do
      if e[2][j] == 'v' then
        local v = tonumber(e[2][j + 1])
        if oldest == nil or v < oldest then oldest = v end
      end
    end
  end
end
local later = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #later > 0 then nxt = tonumber(later[2]) end
later = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #later > 0 and (nxt == nil or tonumber(later[2]) < nxt) then nxt = tonumber(later[2]) end
return {count, oldest and tostring(oldest) or '', nxt and tostring(nxt) or ''}
"""
)

# ARGV: now (or '+inf'). Moves up to 500 due delayed messages; returns how many it moved.
MOVE_DUE = _PRELUDE + "return move_due(ARGV[1])"

# ARGV: bytes removed, then entry ids (stream) prefixed 's:' or message ids (delayed)
# prefixed 'd:'. Removes them wherever they are.
REMOVE = (
    _PRELUDE
    + """
for i = 2, #ARGV do
  local kind, id = string.sub(ARGV[i], 1, 1), string.sub(ARGV[i], 3)
  if kind == 's' then remove(id) else
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[2], id)
  end
end
redis.call('HINCRBY', KEYS[7], 'bytes', 0 - tonumber(ARGV[1]))
return 1
"""
)

# No ARGV. Deletes the whole queue; returns how many messages it held.
PURGE = """
local count = redis.call('ZCARD', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then count = count + redis.call('XLEN', KEYS[1]) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
return count
"""
