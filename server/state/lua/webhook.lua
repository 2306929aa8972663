-- Signed webhooks (server/webhooks.py delivers them). Prepended to the room scripts and to
-- enqueue_webhook.lua, after a generated line naming the keys (server/state/webhooks.py):
-- K_WEBHOOKS_OPERATOR, K_WEBHOOK_PREFIX, K_CLUB_PREFIX.

-- Queue an event for every endpoint that wants it: the operator's (every event) and those of
-- `club_id` ('' for none). `batch`: events of one room with the same batch key and type that
-- queue up back to back go out as one POST (listeners coming and going). A full queue keeps what
-- it has, drops this event and counts it.
local function webhook(kind, club_id, batch, body)
  local ids = redis.call('SMEMBERS', K_WEBHOOKS_OPERATOR)
  if club_id ~= '' then
    for _, id in ipairs(redis.call('SMEMBERS', K_CLUB_PREFIX .. club_id .. ':webhooks')) do
      table.insert(ids, id)
    end
  end
  if #ids == 0 then return end
  body.type = kind
  local encoded = cjson.encode(body)
  for _, id in ipairs(ids) do
    local endpoint = K_WEBHOOK_PREFIX .. id
    local queue_max = tonumber(redis.call('HGET', endpoint, 'queue_max') or '0')
    if redis.call('XLEN', endpoint .. ':queue') >= queue_max then
      redis.call('HINCRBY', endpoint, 'dropped', 1)
    else
      redis.call('XADD', endpoint .. ':queue', '*', 'type', kind, 'batch', batch, 'body', encoded)
    end
  end
end
