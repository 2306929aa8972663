-- End a live room: only its host may. KEYS: room, members, counts, log, live, stage. ARGV: actor_id, now, log_maxlen
-- Returns seq.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return redis.error_reply('room_not_found') end
if redis.call('HGET', KEYS[1], 'host_id') ~= ARGV[1] then return redis.error_reply('forbidden') end
if status ~= 'live' then return redis.error_reply('room_ended') end
redis.call('HSET', KEYS[1], 'status', 'ended', 'ended_at', ARGV[2])
redis.call('ZREM', KEYS[5], redis.call('HGET', KEYS[1], 'id'))
redis.call('DEL', KEYS[2], KEYS[3], KEYS[6])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'seq', seq, 'type', 'room_ended',
  'data', cjson.encode({by = ARGV[1]}))
return seq
