// A visit: joining until leaving. It keeps one RoomState across reconnections; this module
// holds the current visit, sends its requests, and ends it (left, ended, removed, replaced).

import { forgetToken } from './api.js';
import { clearList } from './dom.js';
import { describeError } from './errors.js';
import { RoomState } from './room-state.js';
import { clearRemoteAudio } from './room-audio.js';
import { releaseMic } from './room-mic.js';
import { closeConnection } from './room-peer.js';
import { formatTime, menu, note, setError, setStatus, showView, ui } from './room-view.js';

/** The current visit to the room, or null when not in one. */
let session = null;

export const currentVisit = () => session;

export function startVisit() {
  session = {
    state: new RoomState(),
    conn: null,
    entered: false, // the first snapshot arrived
    mic: null,
    micStarting: false,
    meter: null, // the mic level meter (room-mic.js)
    echo: null, // the microphone test in progress (room-echo.js)
    selfMuted: false, // muted here, in case the server has not confirmed it
    leavingStage: false,
    inviteAnswering: false,
    inviteOutcome: null,
    removeTarget: null,
    reconnectAttempt: 0,
    reconnectTimer: null,
    audience: { last: 0, timer: null, inFlight: false, again: false },
    busy: new Set(), // your own requests in flight, by type
    closed: false,
  };
  return session;
}

/**
 * Sends a room action over the current connection. Resolves with {reply} or {error};
 * an error is shown on the page unless `silent`.
 */
export async function act(s, type, fields = {}, { silent = false } = {}) {
  const conn = s.conn;
  if (s.closed) return { error: { code: 'closed' } };
  if (!conn?.ready) {
    const error = { code: 'closed', message: "You're not connected to the room right now." };
    if (!silent) setError(describeError(error));
    return { error };
  }
  if (!silent) setError('');
  try {
    return { reply: await conn.signaling.request(type, fields) };
  } catch (error) {
    if (s.closed) return { error };
    if (error.code === 'room_ended') roomEnded();
    else if (!silent) setError(describeError(error));
    return { error };
  }
}

/** Runs one of your own requests, ignoring repeated clicks while it is in flight. */
export async function once(type, run) {
  const s = session;
  if (!s || s.busy.has(type)) return;
  s.busy.add(type);
  try {
    await run(s);
  } finally {
    s.busy.delete(type);
  }
}

export function enterRoom() {
  clearList(ui.stage);
  clearList(ui.audienceList);
  clearList(ui.handsList);
  clearList(ui.questionsList);
  clearList(ui.chatList);
  ui.askError.textContent = '';
  setStatus('Connecting…');
  showView('room-view');
}

/** Closes everything of one visit; safe to call more than once. */
export function teardown(s) {
  if (s.closed) return;
  s.closed = true;
  if (session === s) session = null;
  clearTimeout(s.reconnectTimer);
  clearTimeout(s.audience.timer);
  const conn = s.conn;
  s.conn = null;
  if (conn) closeConnection(conn);
  releaseMic(s);
  clearRemoteAudio();
  menu.close({ returnFocus: false });
  if (ui.inviteDialog.open) ui.inviteDialog.close();
  if (ui.removeDialog.open) ui.removeDialog.close();
  if (ui.endDialog.open) ui.endDialog.close();
  ui.live.hidden = true;
}

export function disconnected(s, text = 'The connection to the room was lost.') {
  teardown(s);
  ui.disconnectedText.textContent = text;
  setStatus('Disconnected');
  showView('disconnected-view');
  ui.rejoinButton.focus();
}

export function replaced(s) {
  disconnected(s, 'You joined this room from another window or tab, so this one was disconnected.');
}

export function roomEnded() {
  if (session) teardown(session);
  setError('');
  note('');
  setStatus('This room has ended.');
  showView('ended-view');
}

export function removedFromRoom(s, { banned_until: bannedUntil, banned_for_room: bannedForRoom }) {
  teardown(s);
  let text = 'You were removed from this room.';
  if (bannedForRoom) text += " You can't rejoin this room.";
  else if (bannedUntil) text += ` You can't rejoin until ${formatTime(bannedUntil)}.`;
  setError('');
  note('');
  setStatus(text);
  showView('join-view');
}

export function showMissing() {
  ui.title.textContent = "This room doesn't exist";
  document.title = 'Room not found · Dropin';
  ui.description.hidden = true;
  ui.host.hidden = true;
  setStatus('');
  showView('missing-view');
}

export function joinFailed(error) {
  switch (error.code) {
    case 'room_ended':
      roomEnded();
      return;
    case 'room_not_found':
      showMissing();
      return;
    case 'unauthorized':
    case 'token_expired':
      forgetToken();
      setError('Your sign-in has expired. Please join again.');
      break;
    case 'name_required':
      setError(error.message);
      ui.name.focus();
      break;
    case 'banned':
      setError(error.message);
      break;
    default:
      setError(`Couldn't join the room: ${describeError(error)}`);
  }
  setStatus('');
  showView('join-view');
}
