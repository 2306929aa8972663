-- Shared by every room script (prepended to each). KEYS are server/state/keys.py room_keys().
local K_ROOM, K_MEMBERS, K_COUNTS, K_LOG, K_LIVE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_STAGE, K_AUDIENCE, K_HANDS, K_INVITES, K_BANS = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local K_VISITORS, K_STAGE_TIME, K_QUESTIONS, K_VOTES = KEYS[11], KEYS[12], KEYS[13], KEYS[14]
local K_CLUB_MEMBERS, K_GUESTS, K_TIMERS, K_QUALITY = KEYS[15], KEYS[16], KEYS[17], KEYS[18]
local K_CHAT = KEYS[19]
local LOG_MAXLEN = 10000
local LOG_VERSION = 2  -- the entry format server/state/log.py reads

local function on_stage(role)
  return role == 'host' or role == 'moderator' or role == 'speaker'
end

local function get_member(id)
  local raw = redis.call('HGET', K_MEMBERS, id)
  if raw then return cjson.decode(raw) end
  return nil
end

local function put_member(m)
  redis.call('HSET', K_MEMBERS, m.id, cjson.encode(m))
end

local function view(m)
  return {id = m.id, name = m.name, role = m.role, muted = m.muted, muted_by = m.muted_by}
end

-- Append one event to the room log under the room's next sequence number (the entry's id);
-- returns it.
local function log(event)
  local seq = redis.call('HINCRBY', K_ROOM, 'seq', 1)
  redis.call('XADD', K_LOG, 'MAXLEN', '~', LOG_MAXLEN, seq .. '-0', 'v', LOG_VERSION, 'event', cjson.encode(event))
  return seq
end

-- Queue a webhook about this room (webhook.lua): the room's id, title, club, event and occurrence,
-- and `data`. Listeners' comings and goings batch per room.
local function room_webhook(kind, data, batch)
  local room = redis.call('HMGET', K_ROOM, 'id', 'title', 'club_id', 'event_id', 'occurrence')
  local about = {id = room[1], title = room[2]}
  if room[3] ~= '' then about.club_id = room[3] end
  if room[4] ~= '' then about.event_id, about.occurrence = room[4], room[5] end
  webhook(kind, room[3] or '', batch and room[1] or '', {room = about, data = data})
end

-- A member's coming or going, for webhooks: each on stage alone, listeners batched.
local function member_webhook(kind, m)
  local listener = m.role == 'listener'
  room_webhook((listener and 'listeners.' or 'member.') .. kind, {members = {{id = m.id, name = m.name, role = m.role}}},
    listener)
end

-- Ask for a job to run at `at` (unix seconds) on whichever node claims it (server/state/timers.py):
-- schedule(at, kind, argument, ...). The same job asked for again is due at the new time.
local function schedule(at, ...)
  redis.call('ZADD', K_TIMERS, at, table.concat({...}, '|'))
end

local function room_id()
  return redis.call('HGET', K_ROOM, 'id')
end

local function require_live()
  local status = redis.call('HGET', K_ROOM, 'status')
  if not status then return 'room_not_found' end
  if status ~= 'live' then return 'room_ended' end
  return nil
end

-- Place a member in the stage or audience index for their role.
local function index(m)
  if on_stage(m.role) then
    redis.call('ZREM', K_AUDIENCE, m.id)
    redis.call('ZADD', K_STAGE, m.since, m.id)
  else
    redis.call('ZREM', K_STAGE, m.id)
    redis.call('ZADD', K_AUDIENCE, m.joined_at, m.id)
  end
end

-- Withdraw a listener's hand and invitation (when they come on stage or leave), logging each.
local function clear_hand_and_invite(id, hand_reason, invite_outcome)
  if redis.call('ZREM', K_HANDS, id) == 1 then
    log({type = 'hand_lowered', id = id, reason = hand_reason})
  end
  if redis.call('HDEL', K_INVITES, id) == 1 then
    log({type = 'invite_ended', id = id, outcome = invite_outcome})
  end
end

-- For the round-up: who came to listen, the most listening at once, time spent on stage.
local function note_listener(m)
  redis.call('HSET', K_VISITORS, m.id, m.name)
  local listening = tonumber(redis.call('HGET', K_COUNTS, 'listener') or '0')
  if listening > tonumber(redis.call('HGET', K_ROOM, 'peak_listeners') or '0') then
    redis.call('HSET', K_ROOM, 'peak_listeners', listening)
  end
end

local function stage_exit(m, now)
  if not m.stage_since then return end
  local raw = redis.call('HGET', K_STAGE_TIME, m.id)
  local total = {name = m.name, seconds = 0}
  if raw then total = cjson.decode(raw) end
  total.seconds = total.seconds + (now - m.stage_since)
  redis.call('HSET', K_STAGE_TIME, m.id, cjson.encode(total))
  m.stage_since = nil
end

local function set_role(m, role, now)
  redis.call('HINCRBY', K_COUNTS, m.role, -1)
  redis.call('HINCRBY', K_COUNTS, role, 1)
  if on_stage(role) and not on_stage(m.role) then m.stage_since = now end
  if not on_stage(role) then stage_exit(m, now) end
  m.role = role
  m.since = now
  if not on_stage(role) then
    m.muted = false
    m.muted_by = nil
    note_listener(m)
  end
  put_member(m)
  index(m)
  return log({type = 'member_updated', member = view(m)})
end

local function drop_member(m, now)
  stage_exit(m, now)
  redis.call('HDEL', K_MEMBERS, m.id)
  redis.call('HDEL', K_QUALITY, m.id)
  redis.call('HINCRBY', K_COUNTS, m.role, -1)
  redis.call('ZREM', K_STAGE, m.id)
  redis.call('ZREM', K_AUDIENCE, m.id)
end

-- When the host is gone, the longest-serving moderator becomes host. Returns true if one did.
local function hand_on_host(now)
  local best, best_since = nil, nil
  for _, id in ipairs(redis.call('ZRANGE', K_STAGE, 0, -1)) do
    local m = get_member(id)
    if m and m.role == 'moderator' and (best_since == nil or m.since < best_since) then
      best, best_since = m, m.since
    end
  end
  if not best then return false end
  set_role(best, 'host', now)
  redis.call('HSET', K_ROOM, 'host_id', best.id, 'host_name', best.name)
  log({type = 'host_changed', host = {id = best.id, name = best.name}})
  return true
end

-- A departed host hands on to the longest-serving moderator; without one the room ends after
-- `grace_s` unless a host comes back (a timer's `end_if_hostless`).
local function host_gone(now, grace_s)
  if redis.call('HGET', K_ROOM, 'status') == 'live' and not hand_on_host(now) then
    schedule(now + grace_s, 'end_if_hostless', room_id())
  end
end

-- When a ban of `kind` ('none', 'timed' or 'room') given `now` ends: nil (no ban), a unix time,
-- or 0 for the room's lifetime.
local function ban_until(kind, minutes, now)
  if kind == 'room' then return 0 end
  if kind == 'timed' then return now + 60 * tonumber(minutes) end
  return nil
end

-- Take a member out of the room, banned until `until_ts` (nil: not banned), and log it.
local function remove_member(m, until_ts, now)
  if until_ts then redis.call('HSET', K_BANS, m.id, until_ts) end
  drop_member(m, now)
  clear_hand_and_invite(m.id, 'left', 'left')
  log({type = 'member_removed', id = m.id, role = m.role,
       banned_until = until_ts ~= 0 and until_ts or nil, banned_for_room = until_ts == 0})
  member_webhook('left', m)
end

local function seq_now()
  return tonumber(redis.call('HGET', K_ROOM, 'seq'))
end
