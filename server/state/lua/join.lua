-- Add a member to a live room, or return their current membership if already in.
-- KEYS: room, members, counts, log, live, stage. ARGV: member_id, name, now, log_maxlen
-- Returns {role, seq, joined(1|0)}.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return redis.error_reply('room_not_found') end
if status ~= 'live' then return redis.error_reply('room_ended') end
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then
  local member = cjson.decode(existing)
  return {member.role, redis.call('HGET', KEYS[1], 'seq'), 0}
end
local role = 'listener'
if redis.call('HGET', KEYS[1], 'host_id') == ARGV[1] then role = 'host' end
local member = cjson.encode({id = ARGV[1], name = ARGV[2], role = role, joined_at = tonumber(ARGV[3])})
redis.call('HSET', KEYS[2], ARGV[1], member)
redis.call('HINCRBY', KEYS[3], role, 1)
if role ~= 'listener' then redis.call('HSET', KEYS[6], ARGV[1], member) end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'seq', seq, 'type', 'member_joined', 'data', member)
return {role, seq, 1}
