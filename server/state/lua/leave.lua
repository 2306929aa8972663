-- Remove a member from a room; a departing host hands on to the longest-serving moderator.
-- ARGV: member_id, now. Returns the role they had, or nil if they were not in the room.
local m = get_member(ARGV[1])
if not m then return nil end
drop_member(m, tonumber(ARGV[2]))
clear_hand_and_invite(m.id, 'left', 'left')
log({type = 'member_left', id = m.id, role = m.role})
if m.role == 'host' and redis.call('HGET', K_ROOM, 'status') == 'live' then
  hand_on_host(tonumber(ARGV[2]))
end
return m.role
