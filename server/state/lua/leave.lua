-- Remove a member from a room; a departing host hands on to the longest-serving moderator, or
-- the room ends after the host grace unless a host comes back (a timer's `end_if_hostless`).
-- ARGV: member_id, now, host_grace_s, conn: the connection that is leaving, '' for any; if the
-- member has come back on another connection since, they stay.
-- Returns the role they had, or nil if they were not in the room (or came back).
local m = get_member(ARGV[1])
if not m then return nil end
if ARGV[4] ~= '' and m.conn ~= ARGV[4] then return nil end
local now = tonumber(ARGV[2])
drop_member(m, now)
clear_hand_and_invite(m.id, 'left', 'left')
log({type = 'member_left', id = m.id, role = m.role})
member_webhook('left', m)
if m.role == 'host' then host_gone(now, tonumber(ARGV[3])) end
return m.role
