-- End a live room. ARGV: by ('host', 'hostless' or 'operator'), actor_id (for 'host'), now.
-- 'host': the actor must be the room's host. 'hostless' (a timer's `end_if_hostless`): a room
-- without a host first hands on to its longest-serving moderator, and ends only if it has none.
-- 'operator': `dropin rooms end`, from a shell that holds the Redis itself; no member can ask it.
-- A club's room posts its round-up into the club's space (space.lua) in the same step.
local refused = require_live()
if refused then return redis.error_reply(refused) end
local by, now = ARGV[1], tonumber(ARGV[3])
if by == 'hostless' then
  if tonumber(redis.call('HGET', K_COUNTS, 'host') or '0') > 0 or hand_on_host(now) then return 0 end
elseif by == 'host' then
  if redis.call('HGET', K_ROOM, 'host_id') ~= ARGV[2] then return redis.error_reply('forbidden') end
elseif by ~= 'operator' then
  return redis.error_reply('unknown_action')
end
for _, id in ipairs(redis.call('ZRANGE', K_STAGE, 0, -1)) do
  local m = get_member(id)
  if m then stage_exit(m, now) end
end
redis.call('HSET', K_ROOM, 'status', 'ended', 'ended_at', ARGV[3])
redis.call('ZREM', K_LIVE, redis.call('HGET', K_ROOM, 'id'))
redis.call('DEL', K_MEMBERS, K_COUNTS, K_STAGE, K_AUDIENCE, K_HANDS, K_INVITES)
local seq = log({type = 'room_ended'})
local id = redis.call('HGET', K_ROOM, 'id')
local club_id = redis.call('HGET', K_ROOM, 'club_id')
if club_id and club_id ~= '' then space_roundup(club_id, K_ROOM, K_VISITORS, K_STAGE_TIME, now) end
room_webhook('room.ended', {ended_at = now, by = by})
room_webhook('roundup.ready', {json = '/api/rooms/' .. id .. '/roundup', markdown = '/api/rooms/' .. id .. '/roundup.md'})
return seq
