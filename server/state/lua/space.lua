-- A club's discussion space (server/state/club_space.py): posts, replies, pins, mutes, proposals,
-- and the stream of its changes that open club pages follow. Prepended to space_act.lua, and to
-- end_room.lua for the round-up post. A club's keys are named from K_CLUB_PREFIX (the generated
-- line, server/state/webhooks.py) as server/state/keys.py's space_* functions name them.
local SPACE_CHANGES_MAXLEN = 500

local function space_key(club_id, name)
  return K_CLUB_PREFIX .. club_id .. ':space:' .. name
end

-- Append a change to the club's stream; returns its id.
local function space_change(club_id, change)
  return redis.call('XADD', space_key(club_id, 'changes'), 'MAXLEN', '~', SPACE_CHANGES_MAXLEN, '*',
    'change', cjson.encode(change))
end

-- Put a new post (its id filled in here) on the club's timeline, and say so.
local function space_post(club_id, post)
  local n = redis.call('HINCRBY', space_key(club_id, 'counters'), 'posts', 1)
  post.id = 'p' .. n
  redis.call('HSET', space_key(club_id, 'posts'), post.id, cjson.encode(post))
  redis.call('ZADD', space_key(club_id, 'timeline'), n, post.id)
  space_change(club_id, {type = 'post_added', id = post.id})
  return post
end

-- The round-up post of a room of the club that has just ended (end_room.lua): what the room was
-- and a few figures its hash already holds. A room ends once, so it is posted once.
local function space_roundup(club_id, room_key, visitors_key, stage_time_key, now)
  local room = redis.call('HMGET', room_key, 'id', 'title', 'event_id', 'occurrence', 'created_at',
    'peak_listeners', 'questions_asked', 'chat_posted')
  space_post(club_id, {kind = 'roundup', text = '', at = now, room = {
    id = room[1], title = room[2], event_id = room[3] or '', occurrence = room[4] or '',
    started_at = tonumber(room[5] or now), ended_at = now, peak_listeners = tonumber(room[6] or '0'),
    listeners = redis.call('HLEN', visitors_key), speakers = redis.call('HLEN', stage_time_key),
    questions = tonumber(room[7] or '0'), chat_messages = tonumber(room[8] or '0'),
  }})
end
