-- End a live room. ARGV: actor_id ('' when the room may be abandoned), now.
-- The actor must be the host. A room without a host (a timer's `end_if_hostless`) first hands on
-- to its longest-serving moderator, and ends only if it has none.
local refused = require_live()
if refused then return redis.error_reply(refused) end
local now = tonumber(ARGV[2])
if ARGV[1] == '' then
  if tonumber(redis.call('HGET', K_COUNTS, 'host') or '0') > 0 or hand_on_host(now) then return 0 end
elseif redis.call('HGET', K_ROOM, 'host_id') ~= ARGV[1] then
  return redis.error_reply('forbidden')
end
for _, id in ipairs(redis.call('ZRANGE', K_STAGE, 0, -1)) do
  local m = get_member(id)
  if m then stage_exit(m, now) end
end
redis.call('HSET', K_ROOM, 'status', 'ended', 'ended_at', ARGV[2])
redis.call('ZREM', K_LIVE, redis.call('HGET', K_ROOM, 'id'))
redis.call('DEL', K_MEMBERS, K_COUNTS, K_STAGE, K_AUDIENCE, K_HANDS, K_INVITES)
return log({type = 'room_ended'})
