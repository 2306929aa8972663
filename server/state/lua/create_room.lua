-- Create a live room. KEYS: room, members, counts, log, live, stage. ARGV: id, title, description, host_id, host_name, now, log_maxlen
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('room_exists')
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'title', ARGV[2], 'description', ARGV[3],
  'host_id', ARGV[4], 'host_name', ARGV[5], 'status', 'live', 'created_at', ARGV[6], 'ended_at', '', 'seq', 1)
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[1])
local data = cjson.encode({title = ARGV[2], host = {id = ARGV[4], name = ARGV[5]}})
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'seq', 1, 'type', 'room_created', 'data', data)
return 1
