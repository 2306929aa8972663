// Room page: join over the websocket, then one peer connection with one mic transceiver
// (first m-line) and K receive-only slots. Role changes never renegotiate: going on stage
// is replaceTrack(mic), leaving it replaceTrack(null).
//
// The modules, each importing only those before it:
//   room-view       the page's elements, status, errors and notes
//   room-render     drawing the state: you, stage, audience, hands, questions, chat
//   room-audio      the room's audio: autoplay, volume, output device, device lists
//   room-mic        the microphone, its device and its level meter
//   room-peer       the peer connection: ICE deadline and replacement in place
//   room-visit      the current visit, its requests, and how it ends
//   room-members    the per-member action menu and the removal dialog
//   room-changes    what follows a change of state (mic, page, invitation dialog, audience)
//   room-stage      hands, invitations, muting yourself, leaving the stage
//   room-echo       "Test my microphone"
//   room-connection the websocket, joining and reconnecting
//   room            this page: joining, leaving, asking, chatting, and the buttons' wiring

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
import { bindRenderActions, renderChat, renderRoomInfo } from './room-render.js';
import { answerInvite, leaveStage, muteAll, toggleHand, toggleMute } from './room-stage.js';
import {
  act, currentVisit, joinFailed, once, roomEnded, showMissing, startVisit, teardown,
} from './room-visit.js';
import { note, roomId, roomPath, setError, setStatus, showView, ui } from './room-view.js';

const LEAVE_WAIT_MS = 2_000;
const updateQuestionLeft = showCharactersLeft(ui.question, ui.questionLeft);
const updateChatLeft = showCharactersLeft(ui.chatText, ui.chatLeft);

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

// ---- what members type: questions and chat --------------------------------

/**
 * Sends the trimmed text of a form's `field` as a `type` request ({text}), with its `button` busy
 * meanwhile and what went wrong in its `error` line; the reply, or null.
 */
async function sendText(s, type, { field, button, error, empty, tooLong }) {
  const text = field.value.trim();
  error.textContent = '';
  if (!text || text.length > field.maxLength) {
    error.textContent = text ? tooLong : empty;
    field.focus();
    return null;
  }
  button.disabled = true;
  const { reply, error: refused } = await act(s, type, { text }, { silent: true });
  button.disabled = false;
  if (s.closed) return null;
  if (refused && refused.code !== 'room_ended') error.textContent = describeError(refused);
  return reply ?? null;
}

// ---- questions ------------------------------------------------------------

function ask(event) {
  event.preventDefault();
  return once('ask', async (s) => {
    const reply = await sendText(s, 'ask', {
      field: ui.question, button: ui.askButton, error: ui.askError, empty: 'Please type your question first.',
      tooLong: `Please keep your question to ${ui.question.maxLength} characters.`,
    });
    if (!reply) return;
    ui.question.value = '';
    updateQuestionLeft();
    note('Your question is in the list.');
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

// ---- chat -----------------------------------------------------------------

function sendChat(event) {
  event.preventDefault();
  return once('chat', async (s) => {
    const reply = await sendText(s, 'chat', {
      field: ui.chatText, button: ui.chatSend, error: ui.chatError, empty: '',
      tooLong: `Please keep a message to ${ui.chatText.maxLength} characters.`,
    });
    if (s.closed) return;
    renderChat(s); // the button stays off while the chat is off for you
    if (!reply) return;
    ui.chatText.value = '';
    updateChatLeft();
    ui.chatText.focus();
  });
}

function deleteMessage(messageId) {
  return once(`delete:${messageId}`, async (s) => {
    if (messageId) await act(s, 'delete_message', { message: messageId });
  });
}

function toggleRecording() {
  return once('set_recording', (s) => act(s, 'set_recording', { on: !s.state.room.recording }));
}

function setChat() {
  return once('set_chat', async (s) => {
    const { error } = await act(s, 'set_chat', { enabled: ui.chatEnabled.checked, slow_s: Number(ui.chatSlow.value) });
    if (error) renderChat(s); // back to what the room has
  });
}

/** Asks for the page of messages before the earliest one shown. */
function showEarlierChat() {
  return once('chat_history', async (s) => {
    const first = s.state.chat.keys().next().value;
    if (!first) return;
    const { reply } = await act(s, 'chat_history', { before: first });
    if (!reply || s.closed) return;
    const list = ui.chatList;
    const fromBottom = list.scrollHeight - list.scrollTop;
    s.state.addEarlierChat(reply.messages, reply.more);
    renderChat(s);
    list.scrollTop = list.scrollHeight - fromBottom; // keep what was in view where it was
  });
}

/** Sends a reaction; the server limits how many, and a refused one is simply not counted. */
function react(kind) {
  const s = currentVisit();
  if (s) act(s, 'react', { kind }, { silent: true });
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
  deleteMessage,
});
ui.name.value = getIdentity()?.name ?? '';
ui.roundupLink.href = `/rooms/${encodeURIComponent(roomId)}/roundup`;
ui.askForm.addEventListener('submit', ask);
ui.chatForm.addEventListener('submit', sendChat);
for (const button of ui.reactionButtons) button.addEventListener('click', () => react(button.dataset.reaction));
ui.chatEarlier.addEventListener('click', showEarlierChat);
ui.chatEnabled.addEventListener('change', setChat);
ui.record.addEventListener('click', toggleRecording);
ui.chatSlow.addEventListener('change', setChat);
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
