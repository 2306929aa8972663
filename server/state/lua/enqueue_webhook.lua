-- Queue an event that happened outside a room's scripts (an RSVP). ARGV: type, club_id, body (JSON).
webhook(ARGV[1], ARGV[2], '', cjson.decode(ARGV[3]))
return 0
