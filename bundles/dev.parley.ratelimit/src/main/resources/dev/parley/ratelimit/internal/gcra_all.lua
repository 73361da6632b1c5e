-- GCRA on several buckets at once, all or nothing, atomically, on the Redis server's clock: one round trip decides
-- every bucket of a request (credential, user, tenant; a model's requests and tokens). Arithmetic as in gcra.lua.
-- KEYS[i]: bucket i, holding its theoretical arrival time (TAT) in microseconds of server time. A key may appear more
-- than once: its costs add up.
-- ARGV[3i-2]: emission interval of bucket i in microseconds, ARGV[3i-1]: its burst, ARGV[3i]: units to take.
-- Returns {allowed, then per bucket: TAT - now before, TAT - now had the units been taken}: when allowed, every
-- bucket took its units and "before" is followed by the new TAT; when not, nothing was written. Microseconds as
-- strings (Lua numbers would reach the client truncated to integers). Keys expire when their bucket is full again.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local pending = {}
local before = {}
local after = {}
local all = true
for i = 1, #KEYS do
  local key = KEYS[i]
  local interval = tonumber(ARGV[3 * i - 2])
  local tolerance = interval * tonumber(ARGV[3 * i - 1])
  local units = tonumber(ARGV[3 * i])
  local tat = pending[key]
  if tat == nil then
    tat = now
    local stored = redis.call('GET', key)
    if stored then
      tat = math.max(tonumber(stored), now)
    end
  end
  local new_tat = tat + units * interval
  -- The slack matches Gcra.EPSILON: far below one unit.
  if new_tat - now > tolerance + 0.000001 then
    all = false
  end
  before[i] = tat - now
  after[i] = new_tat - now
  pending[key] = new_tat
end
local out = {all and '1' or '0'}
for i = 1, #KEYS do
  out[2 * i] = string.format('%.17g', before[i])
  out[2 * i + 1] = string.format('%.17g', after[i])
end
if all then
  for key, new_tat in pairs(pending) do
    local ahead = new_tat - now
    if ahead > 0 then
      redis.call('SET', key, string.format('%.17g', new_tat), 'PX', math.ceil(ahead / 1000))
    else
      redis.call('DEL', key)
    end
  end
end
return out
