-- Remove a member from a room. KEYS: room, members, counts, log, live, stage. ARGV: member_id, log_maxlen
-- Returns {role, seq}, or nil if they were not in it.
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if not existing then return nil end
local member = cjson.decode(existing)
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('HINCRBY', KEYS[3], member.role, -1)
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], '*', 'seq', seq, 'type', 'member_left',
  'data', cjson.encode({id = member.id, role = member.role}))
return {member.role, seq}
