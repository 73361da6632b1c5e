-- GCRA on one bucket, atomically, on the Redis server's clock (so nodes with skewed clocks agree).
-- KEYS[1]: the bucket, holding its theoretical arrival time (TAT) in microseconds of server time.
-- ARGV[1]: emission interval in microseconds (period / amount), ARGV[2]: burst, ARGV[3]: units,
-- ARGV[4]: 'acquire', 'charge' (taken whatever the bucket holds: it may go into debt) or 'release'.
-- Returns {allowed, TAT - now after the call, TAT - now had the units been taken}, microseconds as strings (Lua
-- numbers would reach the client truncated to integers). The key expires when the bucket is full again.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local units = tonumber(ARGV[3])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = math.max(tonumber(stored), now)
end

local function keep(new_tat)
  local ahead = new_tat - now
  if ahead > 0 then
    redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.ceil(ahead / 1000))
  else
    redis.call('DEL', KEYS[1])
  end
  return string.format('%.17g', ahead)
end

if ARGV[4] == 'release' then
  return {'1', keep(math.max(tat - units * interval, now)), '0'}
end
local new_tat = tat + units * interval
local ahead_if_taken = string.format('%.17g', new_tat - now)
if ARGV[4] == 'charge' then
  return {'1', keep(new_tat), ahead_if_taken}
end
-- The slack matches Gcra.EPSILON (in nanoseconds there, microseconds here): far below one unit.
if new_tat - now <= tolerance + 0.000001 then
  return {'1', keep(new_tat), ahead_if_taken}
end
return {'0', string.format('%.17g', tat - now), ahead_if_taken}
