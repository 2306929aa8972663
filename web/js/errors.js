// Server error codes, phrased for people. Codes not listed keep the server's message.

const PHRASES = {
  forbidden: "You're not allowed to do that in this room.",
  not_in_room: 'That person is no longer in the room.',
  hand_already_raised: 'Your hand is already raised.',
  no_hand: 'That hand is no longer raised.',
  already_invited: 'They have already been invited to speak.',
  no_invitation: 'There is no invitation to answer any more.',
  invitation_lapsed: 'The invitation to speak has expired.',
  already_on_stage: 'They are already on stage.',
  not_on_stage: 'They are not on stage any more.',
  direct_stage_disabled:
    "This room doesn't let moderators bring listeners straight on stage. Invite them to speak instead.",
  unmute_not_allowed:
    "A moderator muted you, and this room doesn't let speakers unmute themselves. Ask a moderator.",
  conflict: 'Someone else changed that at the same moment. Please try again.',
  rate_limited: "You're doing that too quickly. Please wait a moment and try again.",
  cannot_target_self: "You can't do that to yourself.",
  room_ended: 'This room has ended.',
  not_joined: "You're not connected to the room right now.",
  closed: "You're not connected to the room right now.",
  timeout: "The server didn't answer in time. Please try again.",
  busy: 'The server is busy with a crowd right now. Please try again in a moment.',
  unavailable: "The server can't reach its room store right now. Please try again shortly.",
  // `banned` deliberately keeps the server's message: it says until when.
  not_open_yet: "This room isn't open yet. It opens for everyone at the scheduled start.",
  not_invited: 'This room is only for people invited by its host. Ask the host for an invite link.',
  // Questions
  already_voted: "You've already upvoted that question.",
  question_not_found: 'That question is no longer in the room.',
  chat_off: 'A moderator has turned the chat off for now.',
  message_not_found: 'That message is no longer in the chat.',
  // Clubs, events and invites (REST)
  unauthorized: 'Please enter your name first, then try again.',
  token_expired: 'Your sign-in has expired. Please enter your name again.',
  not_found: "That doesn't exist any more. The link may be mistyped, or it was removed.",
  recording_not_found: "That recording doesn't exist any more: its host may have deleted it.",
  club_not_found: "That club doesn't exist. The link may be mistyped, or the club was removed.",
  event_not_found: "That event doesn't exist. The link may be mistyped, or it was cancelled.",
  not_an_occurrence: "That date isn't part of this event's schedule.",
  occurrence_over: 'That date is over.',
  invalid_timezone: "That time zone isn't one the server knows. Please pick another.",
  unbounded_recurrence: 'A repeating room needs an end: a last date or a number of times.',
  too_many_occurrences: 'That schedule has too many dates. Please end it sooner.',
  end_before_start: 'The last date must not be before the first.',
  invite_not_found: "This invite link doesn't work. Check that you copied all of it.",
  invite_expired: 'This invite has expired. Ask the host for a new link.',
  invite_revoked: 'This invite was revoked. Ask the host for a new link.',
  invite_used_up: 'This invite has been used up. Ask the host for a new link.',
  bad_json: 'The page sent something the server could not read. Please reload and try again.',
  invalid_message: 'Some of the details are not valid. Please check them and try again.',
  name_required: 'Please enter your name first.',
  network: 'Could not reach the server. Check your connection.',
};

/** Why an invite link no longer works (`reason` of GET /api/invites/{token}). */
export const INVITE_REASONS = {
  expired: 'This invite has expired.',
  revoked: 'This invite was revoked by the host.',
  used_up: 'This invite has been used up.',
};

/**
 * A sentence for an error carrying a server `code` (SignalingError, ApiError or an error event).
 * `phrases` overrides the wording for this page, e.g. {forbidden: 'Only club hosts can do that.'}.
 * A 422 keeps the server's message when it has one: it names the field that is wrong.
 */
export function describeError(error, phrases = {}) {
  const code = error?.code;
  if (code === 'invalid_message' && error?.message && !phrases.invalid_message) return error.message;
  return phrases[code] ?? PHRASES[code] ?? error?.message ?? 'Something went wrong. Please try again.';
}
