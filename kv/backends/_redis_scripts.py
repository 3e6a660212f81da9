"""Lua scripts of the Redis store: each runs atomically inside Redis.

Every key a script touches shares the namespace's hash tag, so the scripts stay
legal on Redis Cluster (blob keys are built from ``ARGV`` prefixes of that slot).
"""

from __future__ import annotations

# Replace or delete one entry. KEYS: entry hash, index zset, new blob key (unused for
# inline values and deletes). ARGV: member, op ("put"|"del"), value, expiration text,
# metadata, has-metadata ("1"|"0"), native expiry ms ("" for none), large ("1"|"0"),
# new blob id, blob key prefix, grace ms.
# A replaced large value is not deleted but expires after the grace period, so a
# stream in progress can finish. Re-running it (a redis-py retry) gives the same state.
WRITE = """
local old = redis.call('HGET', KEYS[1], 'b')
if old and old ~= ARGV[9] then
  redis.call('PEXPIRE', ARGV[10] .. old, ARGV[11])
end
redis.call('DEL', KEYS[1])
if ARGV[2] == 'del' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[8] == '1' then
  redis.call('SET', KEYS[3], ARGV[3])
  redis.call('HSET', KEYS[1], 'b', ARGV[9], 'e', ARGV[4])
  if ARGV[7] ~= '' then redis.call('PEXPIREAT', KEYS[3], ARGV[7]) end
else
  redis.call('HSET', KEYS[1], 'v', ARGV[3], 'e', ARGV[4])
end
if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'm', ARGV[5]) end
if ARGV[7] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[7]) end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

# Remove an expired (or broken) entry only if it is still the one the caller saw:
# same expiration text, or still missing when ARGV[2] is "" — a concurrent put of a
# new entry survives. KEYS: entry hash, index. ARGV: member, expected e, blob
# prefix, grace ms.
RECLAIM = """
local cur = redis.call('HMGET', KEYS[1], 'e', 'b')
if (cur[1] == false and ARGV[2] == '') or cur[1] == ARGV[2] then
  if cur[2] then redis.call('PEXPIRE', ARGV[3] .. cur[2], ARGV[4]) end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

# Compare-and-swap of a small entry. KEYS: entry hash, index. ARGV: member, expected
# value, has-expected ("1"|"0"), new value, op ("put"|"del"), now (expiration text
# compared as a number), blob prefix, grace ms. Returns 1 when applied, else 0.
COMPARE_AND_SWAP = """
local cur = redis.call('HMGET', KEYS[1], 'v', 'b', 'e')
local live = cur[3] ~= false and (cur[3] == '' or tonumber(cur[3]) > tonumber(ARGV[6]))
local match
if ARGV[3] == '0' then
  match = not live
else
  match = live and cur[2] == false and cur[1] == ARGV[2]
end
if not match then return 0 end
if cur[2] then redis.call('PEXPIRE', ARGV[7] .. cur[2], ARGV[8]) end
redis.call('DEL', KEYS[1])
if ARGV[5] == 'del' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'e', '')
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""
