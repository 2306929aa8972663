-- Reactions sent through one node since its last flush (server/reactions.py).
-- ARGV: their counts as JSON {kind: n}. Added to the room's totals (for the round-up) and logged
-- as one `reactions` event, if the room is live; otherwise nothing is written. Returns the
-- event's seq, or 0.
if require_live() then return 0 end
local counts = cjson.decode(ARGV[1])
for kind, n in pairs(counts) do
  redis.call('HINCRBY', K_ROOM, 'reactions:' .. kind, n)
end
return log({type = 'reactions', counts = counts})
