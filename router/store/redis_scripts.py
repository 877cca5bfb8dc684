"""The Lua scripts of the Redis store. Each write that only the leader may make checks
the lease (its owner and fencing token) in the same step, so a leader that lost its lease
cannot write after its successor has begun.
"""

from __future__ import annotations

from router.store.base import Saved

# A lease key with no expiry (set by hand, or restored from a dump without TTLs) would
# keep every instance from leading for ever: it is given the lease's TTL (so it lapses
# like a lease whose holder died) and reported with -1.
ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return -1
  end
  return false
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence
"""

RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

APPEND_FENCED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('NOTLEADER') end
return redis.call('XADD', KEYS[2], '*', 'b', ARGV[2])
"""

CONFIG = """
local current = redis.call('HGET', KEYS[1], 'fingerprint')
if (current or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[2], 'document', ARGV[3],
  'at', ARGV[4], 'by', ARGV[5])
return 1
"""

SNAPSHOT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('NOTLEADER') end
local previous = redis.call('HGET', KEYS[2], 'upto')
if previous then
  -- Never replace a snapshot with an older one (a new leader still catching up): the
  -- trim below would then cut entries the stored snapshot does not hold.
  local function parse(id)
    local ms, seq = string.match(id, '^(%d+)-?(%d*)$')
    return tonumber(ms), tonumber(seq) or 0
  end
  local pms, pseq = parse(previous)
  local nms, nseq = parse(ARGV[2])
  if nms == pms and nseq == pseq then return 2 end
  if nms < pms or (nms == pms and nseq < pseq) then return 0 end
end
redis.call('HSET', KEYS[2], 'upto', ARGV[2], 'fence', ARGV[3], 'at', ARGV[4], 'blob', ARGV[5])
if previous then
  redis.call('XTRIM', KEYS[3], 'MINID', previous)
  redis.call('HSET', KEYS[2], 'trimmed', previous)
end
return 1
"""

SAVED = {0: Saved.BEHIND, 1: Saved.STORED, 2: Saved.CURRENT}

# Moves one log entry to the quarantine stream, fields and all, in one step.
QUARANTINE = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local fields = found[1][2]
local moved = {'id', ARGV[1], 'at', ARGV[2]}
for i = 1, #fields, 2 do
  moved[#moved + 1] = 'f:' .. fields[i]
  moved[#moved + 1] = fields[i + 1]
end
local qid = redis.call('XADD', KEYS[2], '*', unpack(moved))
redis.call('XDEL', KEYS[1], ARGV[1])
return qid
"""
