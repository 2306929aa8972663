-- Add a member to a live room, or return their membership if they are still in it (a rejoin).
-- The host and co-hosts may come in as soon as the room exists; everyone else from `opens_at`,
-- if one of the facts that admit people to the room (server/rules/admission.py) holds for them.
-- ARGV: member_id, name, now, admitting facts (space-separated: anyone, guest, club_member), conn
-- (the connection joining: a leave or timer for an earlier one no longer takes the member out).
-- Returns {role, seq, is_new (1|0)}.
local refused = require_live()
if refused then return redis.error_reply(refused) end
local id, now = ARGV[1], tonumber(ARGV[3])
local banned_until = redis.call('HGET', K_BANS, id)
if banned_until and (tonumber(banned_until) == 0 or tonumber(banned_until) > now) then
  return redis.error_reply('banned:' .. banned_until)
end
local existing = get_member(id)
if existing then
  existing.conn = ARGV[5]
  put_member(existing)
  return {existing.role, seq_now(), 0}
end

local room = redis.call('HMGET', K_ROOM, 'host_id', 'cohosts', 'opens_at')
local role = 'listener'
if room[1] == id then
  role = 'host'
else
  for _, cohost in ipairs(cjson.decode(room[2] or '[]')) do
    if cohost == id then role = 'moderator' end
  end
end
if role == 'listener' then
  local opens_at = tonumber(room[3] or '0')
  if now < opens_at then return redis.error_reply('not_open_yet:' .. opens_at) end
  local admitted = false
  for fact in string.gmatch(ARGV[4], '%S+') do
    admitted = admitted or fact == 'anyone'
      or (fact == 'guest' and redis.call('SISMEMBER', K_GUESTS, id) == 1)
      or (fact == 'club_member' and redis.call('HEXISTS', K_CLUB_MEMBERS, id) == 1)
  end
  if not admitted then return redis.error_reply('not_invited') end
end

local m = {id = id, name = ARGV[2], role = role, joined_at = now, since = now, muted = false, conn = ARGV[5]}
if on_stage(role) then m.stage_since = now end
put_member(m)
redis.call('HINCRBY', K_COUNTS, role, 1)
index(m)
if role == 'listener' then note_listener(m) end
local seq = log({type = 'member_joined', member = view(m)})
member_webhook('joined', m)
return {role, seq, 1}
