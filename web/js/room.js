// Room page: join over the websocket, then one peer connection with one mic transceiver
// (first m-line) and K receive-only slots. Role changes never renegotiate: going on stage
// is replaceTrack(mic), leaving it replaceTrack(null).
//
// The modules, each importing only those before it:
//   room-view       the page's elements, status, errors and notes
//   room-render     drawing the state: you, stage, audience, hands, questions
//   room-audio      the room's audio: autoplay, volume, output device, device lists
//   room-mic        the microphone, its device and its level meter
//   room-peer       the peer connection: ICE deadline and replacement in place
//   room-visit      the current visit, its requests, and how it ends
//   room-members    the per-member action menu and the removal dialog
//   room-changes    what follows a change of state (mic, page, invitation dialog, audience)
//   room-stage      hands, invitations, muting yourself, leaving the stage
//   room-echo       "Test my microphone"
//   room-connection the websocket, joining and reconnecting
//   room            this page: joining, leaving, asking, and the buttons' wiring

import { api, ensureIdentity, getIdentity } from './api.js';
import { confirmed } from './confirm.js';
import { showCharactersLeft } from './dom.js';
import { describeError } from './errors.js';
import { changeState } from './room-changes.js';
import { FINAL_JOIN_ERRORS, connectionLost, newConnection, openConnection } from './room-connection.js';
import { cancelRemove, confirmRemove, openMemberMenu } from './room-members.js';
import { showDeviceChoices } from './room-audio.js';
import { testMic } from './room-echo.js';
import { chooseMic } from './room-mic.js';
import { retryMedia } from './room-peer.js';
import { bindRenderActions, renderRoomInfo } from './room-render.js';
import { answerInvite, leaveStage, muteAll, toggleHand, toggleMute } from './room-stage.js';
import {
  act, currentVisit, joinFailed, once, roomEnded, showMissing, startVisit, teardown,
} from './room-visit.js';
import { note, roomId, roomPath, setError, setStatus, showView, ui } from './room-view.js';

const LEAVE_WAIT_MS = 2_000;
const updateQuestionLeft = showCharactersLeft(ui.question, ui.questionLeft);

function setJoining(joining) {
  ui.joinButton.disabled = joining;
  ui.rejoinButton.disabled = joining;
}

async function join() {
  if (currentVisit()) return;
  setError('');
  note('');
  setJoining(true);
  setStatus('Joining…');
  const s = startVisit();
  const conn = newConnection();
  try {
    await ensureIdentity(ui.name.value);
    await openConnection(s, conn, { resume: false });
  } catch (error) {
    if (s.closed) return; // Left, ended, removed or replaced meanwhile; that view already shows.
    if (s.entered && !FINAL_JOIN_ERRORS.has(error.code)) {
      connectionLost(s, conn); // In the room already: the media failed; try again.
      return;
    }
    teardown(s);
    joinFailed(error);
  } finally {
    setJoining(false);
  }
}

async function leave() {
  const s = currentVisit();
  if (!s) return;
  ui.leave.disabled = true;
  const conn = s.conn;
  if (conn?.ready) {
    conn.signaling.onclose = null; // The server closes the socket after "leave"; that is expected.
    const wait = new Promise((resolve) => setTimeout(resolve, LEAVE_WAIT_MS));
    await Promise.race([conn.signaling.request('leave'), wait]).catch(() => {});
  }
  teardown(s);
  ui.leave.disabled = false;
  setError('');
  note('');
  setStatus('You left the room.');
  showView('join-view');
  ui.joinButton.focus();
}

/** Ends the room for everyone, once the host confirms it. */
async function endRoom() {
  if (!(await confirmed(ui.endDialog, 'end'))) return;
  await once('end_room', async (s) => {
    const { reply } = await act(s, 'end_room');
    if (reply) roomEnded();
  });
}

// ---- questions ------------------------------------------------------------

function ask(event) {
  event.preventDefault();
  return once('ask', async (s) => {
    const text = ui.question.value.trim();
    ui.askError.textContent = '';
    if (!text) {
      ui.askError.textContent = 'Please type your question first.';
      ui.question.focus();
      return;
    }
    if (text.length > ui.question.maxLength) {
      ui.askError.textContent = `Please keep your question to ${ui.question.maxLength} characters.`;
      ui.question.focus();
      return;
    }
    ui.askButton.disabled = true;
    const { reply, error } = await act(s, 'ask', { text }, { silent: true });
    ui.askButton.disabled = false;
    if (s.closed) return;
    if (reply) {
      ui.question.value = '';
      updateQuestionLeft();
      note('Your question is in the list.');
      return;
    }
    if (error?.code !== 'room_ended') ui.askError.textContent = describeError(error);
  });
}

function upvote(questionId) {
  return once(`upvote:${questionId}`, async (s) => {
    if (!questionId || s.state.yourVotes.has(questionId)) return;
    const row = ui.questionsList.querySelector(`[data-question-id="${CSS.escape(questionId)}"]`);
    const hadFocus = row?.contains(document.activeElement);
    const { reply, error } = await act(s, 'upvote', { question: questionId });
    if (s.closed) return;
    if (reply || error?.code === 'already_voted') {
      if (error) setError('');
      changeState(s, () => {
        s.state.markVoted(questionId);
        return [];
      });
      // The button is disabled now; keep focus in the question rather than losing it.
      if (hadFocus && row?.isConnected && !row.contains(document.activeElement)) {
        row.tabIndex = -1;
        row.focus();
      }
    }
  });
}

function markAnswered(questionId) {
  return once(`answered:${questionId}`, async (s) => {
    if (questionId) await act(s, 'mark_answered', { question: questionId });
  });
}

/** A room action on one member, from a button in their row. */
function actOn(type) {
  return (id) => {
    const s = currentVisit();
    if (s) act(s, type, { target: id });
  };
}

// ---- the page -------------------------------------------------------------

/** A room opened for a scheduled event links back to the event's page. */
function renderEventLink(room) {
  const eventId = room.event?.id;
  ui.eventInfo.hidden = !eventId;
  if (eventId) ui.eventLink.href = `/events/${encodeURIComponent(eventId)}`;
}

async function loadRoom() {
  if (!roomId) {
    showMissing();
    return;
  }
  try {
    const room = await api('GET', roomPath);
    renderRoomInfo(room);
    renderEventLink(room);
    if (room.status === 'ended') {
      roomEnded();
      return;
    }
  } catch (error) {
    if (error.status === 404) {
      showMissing();
      return;
    }
    setError(`Couldn't load this room: ${error.message}`);
  }
  showView('join-view');
}

bindRenderActions({
  openMemberMenu,
  invite: actOn('invite'),
  dismissHand: actOn('dismiss_hand'),
  inviteAsker: actOn('invite'),
  upvote,
  markAnswered,
});
ui.name.value = getIdentity()?.name ?? '';
ui.roundupLink.href = `/rooms/${encodeURIComponent(roomId)}/roundup`;
ui.askForm.addEventListener('submit', ask);
ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  join();
});
ui.rejoinButton.addEventListener('click', join);
ui.leave.addEventListener('click', leave);
ui.end.addEventListener('click', endRoom);
ui.mute.addEventListener('click', toggleMute);
ui.hand.addEventListener('click', toggleHand);
ui.leaveStage.addEventListener('click', leaveStage);
ui.muteAll.addEventListener('click', muteAll);
ui.inviteAccept.addEventListener('click', () => answerInvite('accept_invite'));
ui.inviteDecline.addEventListener('click', () => answerInvite('decline_invite'));
ui.inviteDialog.addEventListener('cancel', (event) => {
  // Escape declines: an unanswered invitation would otherwise sit hidden until it lapses.
  event.preventDefault();
  answerInvite('decline_invite');
});
ui.removeForm.addEventListener('submit', confirmRemove);
ui.removeCancel.addEventListener('click', cancelRemove);
ui.micChoice.addEventListener('change', () => chooseMic(currentVisit()));
ui.echoButton.addEventListener('click', testMic);
ui.retryAudio.addEventListener('click', () => retryMedia(currentVisit()));
// Back on a network: a broken audio path need not wait for its next retry.
window.addEventListener('online', () => retryMedia(currentVisit()));

// Leaving the page leaves the room at once (best effort, no waiting).
window.addEventListener('pagehide', () => {
  const s = currentVisit();
  if (!s) return;
  s.conn?.signaling.request('leave').catch(() => {});
  teardown(s);
  setStatus('You left the room.');
  showView('join-view');
});

loadRoom();
showDeviceChoices();
