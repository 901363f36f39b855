-- Reserves a request's charges on every counter at once, or on none: Redis runs a script alone, so
-- no other replica's request can slip between the check and the increment.
-- ARGV[1] now (ms, the caller's clock), ARGV[2] ticket id; then 5 per key:
--   kind, limit, amount, a, b
--   'c' calendar: a = period end (ms); the key names its period, so it only needs to expire
--   'r' rolling:  a = bucket width (ms), b = buckets in the window; a hash of bucket -> amount
--   'k' in flight: a = lease (ms); a sorted set of ticket -> lease end, so a crashed replica's
--                  requests stop counting once their lease ends
-- Returns {1, 0, 0, used...} when admitted (used includes this request), or
--         {0, i, retryMs, used...} when key i refused it (used without it).
local now = tonumber(ARGV[1])
local id = ARGV[2]
local n = #KEYS
local used = {}
local refused, retry = 0, 0

local function fits(u, amount, limit)
  return u < limit and u + amount <= limit
end

for i = 1, n do
  local base = 2 + (i - 1) * 5
  local kind, limit, amount = ARGV[base + 1], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local a, b = tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
  local key = KEYS[i]
  local u = 0
  local live = nil
  if kind == 'c' then
    u = tonumber(redis.call('GET', key) or '0')
  elseif kind == 'r' then
    local bucket = math.floor(now / a)
    local oldest = bucket - b + 1
    local all = redis.call('HGETALL', key)
    live = {}
    for j = 1, #all, 2 do
      local idx = tonumber(all[j])
      if idx < oldest then
        redis.call('HDEL', key, all[j])
      else
        local v = tonumber(all[j + 1])
        u = u + v
        live[#live + 1] = {idx, v}
      end
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    u = redis.call('ZCARD', key)
  end
  used[i] = u
  if refused == 0 and not fits(u, amount, limit) then
    refused = i
    if kind == 'c' then
      retry = a - now
    elseif kind == 'r' then
      table.sort(live, function(x, y) return x[1] < y[1] end)
      retry = b * a
      local left = u
      for j = 1, #live do
        left = left - live[j][2]
        if fits(left, amount, limit) then
          retry = (live[j][1] + b) * a - now
          break
        end
      end
    else
      retry = 1000
    end
  end
end

if refused > 0 then
  local out = {0, refused, retry}
  for i = 1, n do out[#out + 1] = used[i] end
  return out
end

local out = {1, 0, 0}
for i = 1, n do
  local base = 2 + (i - 1) * 5
  local kind, amount = ARGV[base + 1], tonumber(ARGV[base + 3])
  local a, b = tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
  local key = KEYS[i]
  if kind == 'c' then
    redis.call('INCRBY', key, amount)
    -- a minute past the period's end (relative: Redis's clock may differ from the replicas'), so
    -- late settlements of requests counted in it still find it
    redis.call('PEXPIRE', key, a - now + 60000)
  elseif kind == 'r' then
    redis.call('HINCRBY', key, math.floor(now / a), amount)
    redis.call('PEXPIRE', key, (b + 1) * a + 60000)
  else
    redis.call('ZADD', key, now + a, id)
    redis.call('PEXPIRE', key, a)
  end
  out[#out + 1] = used[i] + amount
end
return out
