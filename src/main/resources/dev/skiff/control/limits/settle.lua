-- Settles an admitted request: moves token and cost counters by (real - reserved) in the period or
-- bucket the request was counted in, if that is still kept, and takes its ticket out of the
-- in-flight sets. ARGV[1] ticket id; then 3 per key: kind, delta, where
--   'c' calendar: where unused (the key names the period)
--   'r' rolling:  where = the bucket the request was counted in
--   'k' in flight: delta unused
-- Returns the value of each counter after (-1 where it is gone).
local id = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 3
  local kind, delta, where = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3]
  local key = KEYS[i]
  local v = -1
  if kind == 'c' then
    if redis.call('EXISTS', key) == 1 then
      if delta ~= 0 then v = redis.call('INCRBY', key, delta) else v = tonumber(redis.call('GET', key)) end
    end
  elseif kind == 'r' then
    if delta ~= 0 and redis.call('HEXISTS', key, where) == 1 then redis.call('HINCRBY', key, where, delta) end
    v = 0
    local vals = redis.call('HVALS', key)
    for j = 1, #vals do v = v + tonumber(vals[j]) end
  else
    redis.call('ZREM', key, id)
    v = redis.call('ZCARD', key)
  end
  out[i] = v
end
return out
