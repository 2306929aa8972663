-- One room action, already permitted by server/rules/permissions.py for the roles the caller read.
-- ARGV: action, actor_id, actor_role, target_id, target_role, now, ban ('none'|'timed'|'room'),
--       ban_minutes, detail (a question's text or id; a chat message's text or id; for set_chat
--       '<1 on, 0 off>:<slow mode seconds>'; for set_recording '1' or '0'; for remove, 'hide_messages' to delete the member's
--       chat messages too). ('' for an absent target.)
-- Returns the room's sequence number after the action, or 'conflict' if either member's role
-- changed since the caller read it (the caller re-reads and decides again).
local refused = require_live()
if refused then return redis.error_reply(refused) end
local action, now = ARGV[1], tonumber(ARGV[6])

local actor = get_member(ARGV[2])
if not actor then return redis.error_reply('not_joined') end
if actor.role ~= ARGV[3] then return 'conflict' end
local target = nil
if ARGV[4] ~= '' then
  target = get_member(ARGV[4])
  if not target then return redis.error_reply('not_in_room') end
  if target.role ~= ARGV[5] then return 'conflict' end
end

local function mute(m, by)
  m.muted = true
  m.muted_by = by
  put_member(m)
  log({type = 'member_updated', member = view(m)})
end

if action == 'raise_hand' then
  if redis.call('ZSCORE', K_HANDS, actor.id) then return redis.error_reply('hand_already_raised') end
  if redis.call('HEXISTS', K_INVITES, actor.id) == 1 then return redis.error_reply('already_invited') end
  redis.call('ZADD', K_HANDS, now, actor.id)
  redis.call('HINCRBY', K_ROOM, 'hands_raised', 1)
  log({type = 'hand_raised', hand = {id = actor.id, name = actor.name, raised_at = now}})
  room_webhook('hand.raised', {member = {id = actor.id, name = actor.name}, raised_at = now})

elseif action == 'lower_hand' or action == 'dismiss_hand' then
  local who = target or actor
  if redis.call('ZREM', K_HANDS, who.id) == 0 then return redis.error_reply('no_hand') end
  local reason = 'lowered'
  if target then reason = 'dismissed' end
  log({type = 'hand_lowered', id = who.id, reason = reason})

elseif action == 'invite' then
  if redis.call('HEXISTS', K_INVITES, target.id) == 1 then return redis.error_reply('already_invited') end
  local ttl = tonumber(redis.call('HGET', K_ROOM, 'invite_ttl_s'))
  local invitation = {by = {id = actor.id, name = actor.name}, expires_at = now + ttl}
  redis.call('HSET', K_INVITES, target.id, cjson.encode(invitation))
  schedule(invitation.expires_at, 'expire_invite', room_id(), target.id)
  if redis.call('ZREM', K_HANDS, target.id) == 1 then
    log({type = 'hand_lowered', id = target.id, reason = 'invited'})
  end
  log({type = 'invited', id = target.id, invitation = invitation})

elseif action == 'accept_invite' or action == 'decline_invite' then
  local raw = redis.call('HGET', K_INVITES, actor.id)
  if not raw then return redis.error_reply('no_invitation') end
  if cjson.decode(raw).expires_at < now then return redis.error_reply('invitation_lapsed') end
  redis.call('HDEL', K_INVITES, actor.id)
  if action == 'accept_invite' then
    log({type = 'invite_ended', id = actor.id, outcome = 'accepted'})
    -- On stage muted, as Clubhouse does: the new speaker checks their microphone, then unmutes.
    actor.muted = true
    actor.muted_by = 'self'
    set_role(actor, 'speaker', now)
  else
    log({type = 'invite_ended', id = actor.id, outcome = 'declined'})
  end

elseif action == 'expire_invite' then
  local raw = redis.call('HGET', K_INVITES, actor.id)
  if not raw or cjson.decode(raw).expires_at > now then return seq_now() end
  redis.call('HDEL', K_INVITES, actor.id)
  log({type = 'invite_ended', id = actor.id, outcome = 'lapsed'})

elseif action == 'move_to_stage' or action == 'make_moderator' then
  if action == 'move_to_stage' and redis.call('HGET', K_ROOM, 'allow_direct_stage') ~= '1' then
    return redis.error_reply('direct_stage_disabled')
  end
  clear_hand_and_invite(target.id, 'on_stage', 'withdrawn')
  local role = 'speaker'
  if action == 'make_moderator' then role = 'moderator' end
  set_role(target, role, now)

elseif action == 'move_to_audience' then
  set_role(target, 'listener', now)

elseif action == 'leave_stage' then
  set_role(actor, 'listener', now)

elseif action == 'remove_moderator' then
  set_role(target, 'speaker', now)

elseif action == 'mute' then
  if not (target.muted and target.muted_by == 'moderator') then mute(target, 'moderator') end

elseif action == 'mute_all' then
  for _, id in ipairs(redis.call('ZRANGE', K_STAGE, 0, -1)) do
    local m = get_member(id)
    local spared = m.id == actor.id or (m.role == 'host' and actor.role ~= 'host')
    if not spared and not (m.muted and m.muted_by == 'moderator') then mute(m, 'moderator') end
  end

elseif action == 'mute_self' then
  if not actor.muted then mute(actor, 'self') end

elseif action == 'unmute_self' then
  if actor.muted then
    if actor.muted_by == 'moderator' and redis.call('HGET', K_ROOM, 'speakers_may_unmute') ~= '1' then
      return redis.error_reply('unmute_not_allowed')
    end
    actor.muted = false
    actor.muted_by = nil
    put_member(actor)
    log({type = 'member_updated', member = view(actor)})
  end

elseif action == 'remove' then
  remove_member(target, ban_until(ARGV[7], ARGV[8], now), now)
  if ARGV[9] == 'hide_messages' then
    local hidden = 0
    for _, raw in ipairs(redis.call('HVALS', K_CHAT)) do
      local message = cjson.decode(raw)
      if message.by.id == target.id and not message.deleted then
        message.text, message.deleted = '', true
        redis.call('HSET', K_CHAT, message.id, cjson.encode(message))
        hidden = hidden + 1
      end
    end
    if hidden > 0 then log({type = 'chat_hidden', id = target.id, by = {id = actor.id, name = actor.name}}) end
  end

elseif action == 'ask' then
  local id = 'q' .. redis.call('HINCRBY', K_ROOM, 'questions_asked', 1)
  local question = {id = id, by = {id = actor.id, name = actor.name}, text = ARGV[9], votes = 0,
                    answered = false, asked_at = now}
  redis.call('HSET', K_QUESTIONS, id, cjson.encode(question))
  log({type = 'question_asked', question = question})

elseif action == 'upvote' or action == 'mark_answered' then
  local raw = redis.call('HGET', K_QUESTIONS, ARGV[9])
  if not raw then return redis.error_reply('question_not_found') end
  local question = cjson.decode(raw)
  if action == 'upvote' then
    if redis.call('SADD', K_VOTES, question.id .. ':' .. actor.id) == 0 then
      return redis.error_reply('already_voted')
    end
    question.votes = question.votes + 1
  elseif question.answered then
    return seq_now()
  else
    question.answered = true
  end
  redis.call('HSET', K_QUESTIONS, question.id, cjson.encode(question))
  log({type = 'question_updated', question = question})

elseif action == 'chat' then
  local chat = redis.call('HMGET', K_ROOM, 'chat_off', 'chat_slow_s')
  local moderating = actor.role == 'host' or actor.role == 'moderator'
  if chat[1] == '1' and not moderating then return redis.error_reply('chat_off') end
  -- Everyone waits a second between messages; listeners, in slow mode, as long as it says.
  local gap = 1
  if actor.role == 'listener' then gap = math.max(gap, tonumber(chat[2] or '0') or 0) end
  if actor.chat_at and now - actor.chat_at < gap then
    return redis.error_reply('chat_too_soon:' .. (gap - (now - actor.chat_at)))
  end
  actor.chat_at = now
  put_member(actor)
  local message = {id = 'c' .. redis.call('HINCRBY', K_ROOM, 'chat_posted', 1),
                   by = {id = actor.id, name = actor.name}, text = ARGV[9], at = now}
  redis.call('HSET', K_CHAT, message.id, cjson.encode(message))
  log({type = 'chat_posted', message = message})

elseif action == 'delete_message' then
  local raw = redis.call('HGET', K_CHAT, ARGV[9])
  if not raw then return redis.error_reply('message_not_found') end
  local message = cjson.decode(raw)
  if message.deleted then return seq_now() end
  message.text, message.deleted = '', true
  redis.call('HSET', K_CHAT, message.id, cjson.encode(message))
  log({type = 'chat_deleted', id = message.id, by = {id = actor.id, name = actor.name}})

elseif action == 'set_chat' then
  local on, slow = string.match(ARGV[9], '^([01]):(%d+)$')
  if not on then return redis.error_reply('unknown_action') end
  local off = on == '1' and '0' or '1'
  local was = redis.call('HMGET', K_ROOM, 'chat_off', 'chat_slow_s')
  if (was[1] or '0') == off and (was[2] or '0') == slow then return seq_now() end
  redis.call('HSET', K_ROOM, 'chat_off', off, 'chat_slow_s', slow)
  log({type = 'chat_changed', chat = {enabled = on == '1', slow_s = tonumber(slow)}})

elseif action == 'set_recording' then
  if ARGV[9] ~= '0' and ARGV[9] ~= '1' then return redis.error_reply('unknown_action') end
  if (redis.call('HGET', K_ROOM, 'recording') or '0') == ARGV[9] then return seq_now() end
  redis.call('HSET', K_ROOM, 'recording', ARGV[9])
  log({type = 'recording_changed', recording = ARGV[9] == '1'})

else
  return redis.error_reply('unknown_action')
end
return seq_now()
