-- Create a live room. ARGV: id, title, description, host_id, host_name, now,
-- allow_direct_stage (0|1), speakers_may_unmute (0|1), invite_ttl_s,
-- visibility (public|club|invite), club_id, event_id, occurrence, cohosts (JSON [ids]), opens_at, slots,
-- host_grace_s: a room whose host (or a co-host) has not come by then ends (`end_if_hostless`)
if redis.call('EXISTS', K_ROOM) == 1 then return redis.error_reply('room_exists') end
redis.call('HSET', K_ROOM, 'id', ARGV[1], 'title', ARGV[2], 'description', ARGV[3],
  'host_id', ARGV[4], 'host_name', ARGV[5], 'status', 'live', 'created_at', ARGV[6], 'ended_at', '',
  'seq', 0, 'allow_direct_stage', ARGV[7], 'speakers_may_unmute', ARGV[8], 'invite_ttl_s', ARGV[9],
  'visibility', ARGV[10], 'club_id', ARGV[11], 'event_id', ARGV[12], 'occurrence', ARGV[13],
  'cohosts', ARGV[14], 'opens_at', ARGV[15], 'slots', ARGV[16], 'peak_listeners', 0, 'hands_raised', 0, 'notes', '')
redis.call('ZADD', K_LIVE, ARGV[6], ARGV[1])
schedule(math.max(tonumber(ARGV[6]), tonumber(ARGV[15])) + tonumber(ARGV[17]), 'end_if_hostless', ARGV[1])
room_webhook('room.started', {host = {id = ARGV[4], name = ARGV[5]}, visibility = ARGV[10], created_at = tonumber(ARGV[6])})
if ARGV[13] ~= '' then room_webhook('occurrence.opened', {starts_at = tonumber(ARGV[15])}) end
return 0
