// What follows a change of the room's state: the effects worth a word, your microphone,
// the page, the invitation dialog, and the audience names (fetched over REST, at most
// every 2 s).

import { api } from './api.js';
import { isOnStage } from './permissions.js';
import { refreshMenu } from './room-members.js';
import { syncMic } from './room-mic.js';
import {
  AUDIENCE_PAGE, renderAudience, renderChat, renderHands, renderQuestions, renderRoomInfo, renderStage, renderYou,
  showReactions,
} from './room-render.js';
import { removedFromRoom, roomEnded } from './room-visit.js';
import { note, roomPath, ui } from './room-view.js';

const AUDIENCE_REFRESH_MS = 2_000;
const INVITE_END_NOTES = {
  lapsed: 'The invitation to speak expired.',
  left: '',
  accepted: '',
  declined: '',
};

/** Runs `change` on the state, then brings the mic, the page and the dialogs in line. */
export function changeState(s, change) {
  const before = s.state.you;
  const effects = change() ?? [];
  afterChange(s, before, effects);
}

export function afterChange(s, before, effects) {
  for (const effect of effects) {
    switch (effect.kind) {
      case 'ended':
        roomEnded();
        return;
      case 'removed':
        removedFromRoom(s, effect);
        return;
      case 'host_changed':
        note(effect.host.id === s.state.you.id ? 'You are now the host.' : `${effect.host.name} is now the host.`);
        break;
      case 'hand_dismissed':
        note('A moderator lowered your hand.');
        break;
      case 'invited':
        s.inviteOutcome = null;
        break;
      case 'invite_ended':
        s.inviteOutcome = effect.outcome;
        break;
      case 'audience':
        scheduleAudienceRefresh(s);
        break;
      case 'reactions':
        showReactions(effect.counts);
        break;
      default:
        break;
    }
  }
  reconcileYou(s, before);
  renderAll(s);
  syncInviteDialog(s);
}

function renderAll(s) {
  if (s.closed || !s.state.you) return;
  renderRoomInfo(s.state.room);
  renderYou(s);
  renderHands(s);
  renderStage(s);
  renderQuestions(s);
  renderChat(s);
  renderAudience(s);
  refreshMenu(s);
}

/** Follows a change of your own role or mute: the mic, and a word about it (a moderator's mute shows in #moderator-muted). */
function reconcileYou(s, before) {
  const { you } = s.state;
  const wasOnStage = Boolean(before) && isOnStage(before.role);
  const onStage = isOnStage(you.role);
  if (!before || wasOnStage !== onStage || before.muted !== you.muted) syncMic(s);
  if (before && wasOnStage && !onStage) {
    note(s.leavingStage ? 'You left the stage.' : "You're in the audience now.");
    s.leavingStage = false;
  } else if (before && !wasOnStage && onStage) {
    note(you.muted ? "You're on stage. Your microphone is muted." : "You're on stage. Your microphone is on.");
  }
}

/** The invitation dialog follows `you.invitation`. */
function syncInviteDialog(s) {
  const invitation = s.state.you?.invitation;
  const dialog = ui.inviteDialog;
  if (invitation) {
    ui.inviteText.textContent = `${invitation.by.name} invited you to speak.`;
    if (!dialog.open && !s.inviteAnswering) {
      setInviteBusy(false);
      ui.inviteError.textContent = '';
      dialog.showModal();
      ui.inviteAccept.focus();
    }
    return;
  }
  if (!dialog.open) return;
  dialog.close();
  if (!s.inviteAnswering) {
    const text = INVITE_END_NOTES[s.inviteOutcome] ?? 'The invitation to speak was withdrawn.';
    if (text) note(text);
  }
}

export function setInviteBusy(busy) {
  if (busy) ui.inviteError.textContent = '';
  ui.inviteAccept.disabled = busy;
  ui.inviteDecline.disabled = busy;
}

function scheduleAudienceRefresh(s) {
  const audience = s.audience;
  if (audience.timer || s.closed) return;
  const wait = Math.max(0, audience.last + AUDIENCE_REFRESH_MS - Date.now());
  audience.timer = setTimeout(() => {
    audience.timer = null;
    fetchAudience(s);
  }, wait);
}

async function fetchAudience(s) {
  const audience = s.audience;
  if (s.closed) return;
  if (audience.inFlight) {
    audience.again = true;
    return;
  }
  audience.inFlight = true;
  audience.last = Date.now();
  try {
    const page = await api('GET', `${roomPath}/audience?offset=0&limit=${AUDIENCE_PAGE}`);
    if (!s.closed && s.state.you) {
      s.state.setAudience(page);
      renderAudience(s);
      renderQuestions(s);
      refreshMenu(s);
    }
  } catch {
    // Keep the names we have; the next audience event tries again.
  } finally {
    audience.inFlight = false;
    if (audience.again) {
      audience.again = false;
      scheduleAudienceRefresh(s);
    }
  }
}
