-- Compare-and-set of the latest value of each point, one call per batch.
-- KEYS[i]: naia:latest:<point>; ARGV: 5 values per key: ts_us, seq, value, state, good.
-- A value replaces the stored one only if (ts, seq) is newer: an older backfilled value never
-- overwrites a newer live one.
local updated = 0
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 5
  local ts = tonumber(ARGV[base + 1])
  local seq = tonumber(ARGV[base + 2])
  local current = redis.call('HMGET', key, 'ts', 'seq')
  local cts = tonumber(current[1])
  if (not cts) or ts > cts or (ts == cts and seq >= tonumber(current[2] or '0')) then
    redis.call('HSET', key, 'ts', ARGV[base + 1], 'seq', ARGV[base + 2],
      'value', ARGV[base + 3], 'state', ARGV[base + 4], 'good', ARGV[base + 5])
    updated = updated + 1
  end
end
return updated
