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
  // `banned` deliberately keeps the server's message: it says until when.
};

/** A sentence for an error carrying a server `code` (SignalingError, ApiError or an error event). */
export function describeError(error) {
  return PHRASES[error?.code] ?? error?.message ?? 'Something went wrong. Please try again.';
}
