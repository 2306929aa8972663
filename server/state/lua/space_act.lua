-- One action in a club's discussion space (server/state/club_space.py), after space.lua.
-- ARGV: action, club_id, actor_id, actor_name, now, subject (a post, reply or proposal id, or the
--       member to mute), detail (the text written; for delete_reply its post's id; for adopt JSON
--       {event_id, date, title}), limit and window_s (the rate limit of a written text).
-- Returns the id of what the action made or changed; a refusal is an error reply naming it, and
-- writes nothing.
local action, club_id, now = ARGV[1], ARGV[2], tonumber(ARGV[5])
local actor = {id = ARGV[3], name = ARGV[4]}
local subject, detail = ARGV[6], ARGV[7]
local K_MEMBERS_OF_CLUB = K_CLUB_PREFIX .. club_id .. ':members'
local K_HOSTS_OF_CLUB = K_CLUB_PREFIX .. club_id .. ':hosts'

local function host(id) return redis.call('SISMEMBER', K_HOSTS_OF_CLUB, id) == 1 end

local function read(name, id, missing)
  local raw = redis.call('HGET', space_key(club_id, name), id)
  if not raw then return nil, redis.error_reply(missing) end
  return cjson.decode(raw), nil
end

-- A member who may write now: not muted, and within the rate limit of `kind`. The write itself
-- is counted by `counted` once it is made.
local function may_write(kind)
  if redis.call('HEXISTS', K_MEMBERS_OF_CLUB, actor.id) == 0 then return redis.error_reply('not_member') end
  if redis.call('HEXISTS', space_key(club_id, 'mutes'), actor.id) == 1 then return redis.error_reply('muted') end
  local key = space_key(club_id, 'rate:' .. kind .. ':' .. actor.id)
  local window = tonumber(ARGV[9])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[8]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return redis.error_reply('rate_limited:' .. kind .. ':' .. (tonumber(oldest[2]) + window - now))
  end
  return nil
end

local function counted(kind, id)
  local key = space_key(club_id, 'rate:' .. kind .. ':' .. actor.id)
  redis.call('ZADD', key, now, id)
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[9])))
end

local function next_id(counter, prefix)
  return prefix .. redis.call('HINCRBY', space_key(club_id, 'counters'), counter, 1)
end

if action == 'post' then
  local refused = may_write('write')
  if refused then return refused end
  local post = space_post(club_id, {kind = 'post', by = actor, text = detail, at = now})
  counted('write', post.id)
  return post.id

elseif action == 'reply' then
  local refused = may_write('write')
  if refused then return refused end
  if redis.call('HEXISTS', space_key(club_id, 'posts'), subject) == 0 then return redis.error_reply('post_not_found') end
  local id = next_id('replies', 'r')
  redis.call('HSET', space_key(club_id, 'replies'), id,
    cjson.encode({id = id, post = subject, by = actor, text = detail, at = now}))
  redis.call('ZADD', space_key(club_id, 'post:' .. subject .. ':replies'), tonumber(string.sub(id, 2)), id)
  counted('write', id)
  space_change(club_id, {type = 'reply_added', id = id, post = subject})
  return id

elseif action == 'delete_post' then
  local post, missing = read('posts', subject, 'post_not_found')
  if not post then return missing end
  if not host(actor.id) and not (post.by and post.by.id == actor.id) then return redis.error_reply('not_yours') end
  local replies = space_key(club_id, 'post:' .. subject .. ':replies')
  for _, id in ipairs(redis.call('ZRANGE', replies, 0, -1)) do redis.call('HDEL', space_key(club_id, 'replies'), id) end
  redis.call('DEL', replies)
  redis.call('HDEL', space_key(club_id, 'posts'), subject)
  redis.call('ZREM', space_key(club_id, 'timeline'), subject)
  redis.call('ZREM', space_key(club_id, 'pinned'), subject)
  space_change(club_id, {type = 'post_deleted', id = subject})
  return subject

elseif action == 'delete_reply' then
  local reply, missing = read('replies', subject, 'reply_not_found')
  if not reply or reply.post ~= detail then return missing or redis.error_reply('reply_not_found') end
  if not host(actor.id) and reply.by.id ~= actor.id then return redis.error_reply('not_yours') end
  redis.call('HDEL', space_key(club_id, 'replies'), subject)
  redis.call('ZREM', space_key(club_id, 'post:' .. reply.post .. ':replies'), subject)
  space_change(club_id, {type = 'reply_deleted', id = subject, post = reply.post})
  return subject

elseif action == 'pin' or action == 'unpin' then
  if not host(actor.id) then return redis.error_reply('hosts_only') end
  if redis.call('HEXISTS', space_key(club_id, 'posts'), subject) == 0 then return redis.error_reply('post_not_found') end
  local changed
  if action == 'pin' then
    changed = redis.call('ZADD', space_key(club_id, 'pinned'), 'NX', now, subject)
  else
    changed = redis.call('ZREM', space_key(club_id, 'pinned'), subject)
  end
  if changed == 1 then space_change(club_id, {type = 'post_' .. action .. 'ned', id = subject}) end
  return subject

elseif action == 'mute' or action == 'unmute' then
  if not host(actor.id) then return redis.error_reply('hosts_only') end
  local name = redis.call('HGET', K_MEMBERS_OF_CLUB, subject)
  if action == 'mute' then
    if not name then return redis.error_reply('member_not_found') end
    if host(subject) then return redis.error_reply('mute_host') end
    if redis.call('HSETNX', space_key(club_id, 'mutes'), subject,
        cjson.encode({id = subject, name = name, by = actor, at = now})) == 1 then
      space_change(club_id, {type = 'member_muted', id = subject})
    end
  elseif redis.call('HDEL', space_key(club_id, 'mutes'), subject) == 1 then
    space_change(club_id, {type = 'member_unmuted', id = subject})
  end
  return subject

elseif action == 'propose' then
  local refused = may_write('propose')
  if refused then return refused end
  local id = next_id('proposals', 't')
  redis.call('HSET', space_key(club_id, 'proposals'), id,
    cjson.encode({id = id, by = actor, text = detail, at = now, votes = 0}))
  redis.call('ZADD', space_key(club_id, 'open'), 0, id)
  counted('propose', id)
  space_change(club_id, {type = 'proposal_added', id = id})
  return id

elseif action == 'vote' or action == 'unvote' then
  if redis.call('HEXISTS', K_MEMBERS_OF_CLUB, actor.id) == 0 then return redis.error_reply('not_member') end
  local proposal, missing = read('proposals', subject, 'proposal_not_found')
  if not proposal then return missing end
  if proposal.adopted then return redis.error_reply('proposal_adopted') end
  local votes = space_key(club_id, 'votes:' .. subject)
  local changed
  if action == 'vote' then changed = redis.call('SADD', votes, actor.id) else changed = redis.call('SREM', votes, actor.id) end
  if changed == 1 then
    proposal.votes = redis.call('SCARD', votes)
    redis.call('HSET', space_key(club_id, 'proposals'), subject, cjson.encode(proposal))
    redis.call('ZADD', space_key(club_id, 'open'), proposal.votes, subject)
    space_change(club_id, {type = 'proposal_voted', id = subject})
  end
  return subject

elseif action == 'adopt' then
  local proposal, missing = read('proposals', subject, 'proposal_not_found')
  if not proposal then return missing end
  local adopted = cjson.decode(detail)
  adopted.by, adopted.at = actor, now
  proposal.adopted = adopted
  redis.call('HSET', space_key(club_id, 'proposals'), subject, cjson.encode(proposal))
  redis.call('ZREM', space_key(club_id, 'open'), subject)
  redis.call('ZADD', space_key(club_id, 'adopted'), now, subject)
  space_change(club_id, {type = 'proposal_adopted', id = subject})
  return subject

elseif action == 'delete_proposal' then
  local proposal, missing = read('proposals', subject, 'proposal_not_found')
  if not proposal then return missing end
  if not host(actor.id) and proposal.by.id ~= actor.id then return redis.error_reply('not_yours') end
  redis.call('HDEL', space_key(club_id, 'proposals'), subject)
  redis.call('ZREM', space_key(club_id, 'open'), subject)
  redis.call('ZREM', space_key(club_id, 'adopted'), subject)
  redis.call('DEL', space_key(club_id, 'votes:' .. subject))
  space_change(club_id, {type = 'proposal_deleted', id = subject})
  return subject
end
return redis.error_reply('unknown_action')
