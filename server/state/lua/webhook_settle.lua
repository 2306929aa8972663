-- Record what became of a delivery to one endpoint, unless it was removed meanwhile.
-- KEYS: the endpoint's hash, queue and failures. ARGV: outcome ('delivered', 'retry' or 'failed'),
-- now, attempts, next_at, batch_end, error, failure (JSON), failures kept, then the entry ids.
local endpoint, queue, failures = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', endpoint) == 0 then return 0 end
local outcome = ARGV[1]
if outcome == 'retry' then
  redis.call('HSET', endpoint, 'attempts', ARGV[3], 'next_at', ARGV[4], 'batch_end', ARGV[5], 'last_error', ARGV[6])
  return 1
end
for i = 9, #ARGV do redis.call('XDEL', queue, ARGV[i]) end
redis.call('HSET', endpoint, 'attempts', 0, 'next_at', 0, 'batch_end', '')
if outcome == 'delivered' then
  redis.call('HINCRBY', endpoint, 'delivered', #ARGV - 8)
  redis.call('HSET', endpoint, 'last_at', ARGV[2])
else
  redis.call('HINCRBY', endpoint, 'failed', 1)
  redis.call('HSET', endpoint, 'last_error', ARGV[6])
  redis.call('LPUSH', failures, ARGV[7])
  redis.call('LTRIM', failures, 0, tonumber(ARGV[8]) - 1)
end
return 1
