-- The operator's ban (`dropin ban`): take an identity out of a live room if it is in it, as a
-- moderator's remove does, and keep it out. A removed host hands on as a departing one does.
-- ARGV: identity_id, kind ('timed' or 'room'), minutes, now, host_grace_s.
-- Returns {1 if they were in the room else 0, the room's sequence number}.
local refused = require_live()
if refused then return redis.error_reply(refused) end
local id, now = ARGV[1], tonumber(ARGV[4])
local until_ts = ban_until(ARGV[2], ARGV[3], now)
local m = get_member(id)
if not m then
  redis.call('HSET', K_BANS, id, until_ts)
  return {0, seq_now()}
end
remove_member(m, until_ts, now)
if m.role == 'host' then host_gone(now, tonumber(ARGV[5])) end
return {1, seq_now()}
