-- Add a member to a live room, or return their membership if they are still in it (a rejoin).
-- ARGV: member_id, name, now. Returns {role, seq, is_new (1|0)}.
local refused = require_live()
if refused then return redis.error_reply(refused) end
local id, now = ARGV[1], tonumber(ARGV[3])
local banned_until = redis.call('HGET', K_BANS, id)
if banned_until and (tonumber(banned_until) == 0 or tonumber(banned_until) > now) then
  return redis.error_reply('banned:' .. banned_until)
end
local existing = get_member(id)
if existing then return {existing.role, seq_now(), 0} end
local role = 'listener'
if redis.call('HGET', K_ROOM, 'host_id') == id then role = 'host' end
local m = {id = id, name = ARGV[2], role = role, joined_at = now, since = now, muted = false}
put_member(m)
redis.call('HINCRBY', K_COUNTS, role, 1)
index(m)
local seq = log({type = 'member_joined', member = view(m)})
return {role, seq, 1}
