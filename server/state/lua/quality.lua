-- A member's connection quality changed, as the node serving their peer connection measured it.
-- ARGV: member_id, the quality's JSON. Kept (for the welcome of moderators and of the member) and
-- logged as `quality_changed`, if the room is live and the member in it: otherwise nothing is
-- written. Returns the event's seq, or 0.
if require_live() or not get_member(ARGV[1]) then return 0 end
redis.call('HSET', K_QUALITY, ARGV[1], ARGV[2])
return log({type = 'quality_changed', id = ARGV[1], quality = cjson.decode(ARGV[2])})
