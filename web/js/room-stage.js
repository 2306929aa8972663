// Your own place in the room: raising a hand, answering an invitation to speak, muting
// yourself, leaving the stage, and (for moderators) muting everyone else.

import { describeError } from './errors.js';
import { isOnStage } from './permissions.js';
import { changeState, setInviteBusy } from './room-changes.js';
import { syncMic } from './room-mic.js';
import { micMuted } from './room-render.js';
import { act, once } from './room-visit.js';
import { note, setError, ui } from './room-view.js';

export function toggleMute() {
  return once('mute', async (s) => {
    if (!isOnStage(s.state.you?.role)) return;
    if (!s.conn?.ready) {
      setError(describeError({ code: 'closed' }));
      return;
    }
    if (!micMuted(s)) {
      // Silence the microphone at once; the server confirms with member_updated.
      s.selfMuted = true;
      syncMic(s);
      const { reply } = await act(s, 'mute_self');
      if (reply && !s.closed) changeState(s, () => s.state.updateYou({ muted: true, muted_by: 'self' }));
      return;
    }
    const { reply } = await act(s, 'unmute_self');
    if (!reply || s.closed) return;
    s.selfMuted = false;
    changeState(s, () => s.state.updateYou({ muted: false, muted_by: null }));
    syncMic(s); // member_updated may have come first, while the local mute still held the track.
  });
}

export function toggleHand() {
  return once('hand', async (s) => {
    const raising = !s.state.you.hand_raised;
    const { reply, error } = await act(s, raising ? 'raise_hand' : 'lower_hand');
    if (s.closed) return;
    if (reply || error?.code === 'hand_already_raised' || error?.code === 'no_hand') {
      const raised = reply ? raising : error.code === 'hand_already_raised';
      if (!reply) setError('');
      changeState(s, () => s.state.updateYou({ hand_raised: raised }));
    }
  });
}

export function leaveStage() {
  return once('leave_stage', async (s) => {
    s.leavingStage = true;
    const { reply } = await act(s, 'leave_stage');
    if (s.closed) return;
    if (!reply) {
      s.leavingStage = false;
      return;
    }
    if (isOnStage(s.state.you.role)) {
      changeState(s, () => s.state.updateYou({ role: 'listener', muted: false, muted_by: null }));
    }
  });
}

export function muteAll() {
  return once('mute_all', async (s) => {
    const { reply } = await act(s, 'mute_all');
    if (reply) note('Everyone else on stage is muted.');
  });
}

export function answerInvite(type) {
  return once('invite_answer', async (s) => {
    if (!s.state.you.invitation) return;
    s.inviteAnswering = true;
    setInviteBusy(true);
    const { reply, error } = await act(s, type, {}, { silent: true });
    s.inviteAnswering = false;
    if (s.closed) return;
    if (reply || error?.code === 'invitation_lapsed' || error?.code === 'no_invitation') {
      if (ui.inviteDialog.open) ui.inviteDialog.close();
      if (error) note(describeError(error));
      // Accepting: the mic starts when member_updated puts you on stage.
      changeState(s, () => s.state.updateYou({ invitation: null }));
      return;
    }
    // Still invited (a refusal such as rate_limited): say why, and let them try again.
    setInviteBusy(false);
    ui.inviteError.textContent = describeError(error);
  });
}
