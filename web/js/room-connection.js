// The websocket connection of a visit: join (or rejoin with `last_seq`), feed the room's
// events to the state, and after an unexpected close keep the visit and reconnect with
// backoff. Each connection gets its own websocket and its own peer connection.

import { getToken } from './api.js';
import { describeError } from './errors.js';
import { afterChange, changeState } from './room-changes.js';
import { syncMic } from './room-mic.js';
import { closeConnection, connectMedia } from './room-peer.js';
import { renderStage } from './room-render.js';
import { disconnected, enterRoom, joinFailed, replaced, teardown } from './room-visit.js';
import { roomId, setError, setStatus } from './room-view.js';
import { SignalingClient } from './signaling.js';

// After a drop, try again at once (the server restarted, or this page's node died and another
// takes it), then back off; jitter keeps a whole node's members from coming back in one instant.
const RECONNECT_DELAYS_MS = [0, 1_000, 2_000, 4_000, 8_000, 16_000];
const jittered = (ms) => ms * (0.75 + Math.random() * 0.5);
/** Join refusals that no retry can fix. */
export const FINAL_JOIN_ERRORS = new Set([
  'room_ended', 'room_not_found', 'banned', 'unauthorized', 'token_expired', 'forbidden',
  'unsupported_version', 'invalid_message', 'not_open_yet', 'not_invited',
]);
const LOG_EVENTS = [
  'member_joined', 'member_left', 'member_updated', 'hand_raised', 'hand_lowered', 'invited',
  'invite_ended', 'member_removed', 'host_changed', 'room_ended', 'question_asked', 'question_updated',
  'chat_posted', 'chat_deleted', 'chat_hidden', 'chat_changed', 'recording_changed', 'reactions', 'quality_changed',
];

function wsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

export function newConnection() {
  return {
    signaling: new SignalingClient(wsUrl()),
    pc: null,
    peer: null, // room-peer.js's retry state
    micTransceiver: null,
    mediaReady: false,
    sentTrack: null,
    ready: false, // the snapshot is applied; events apply at once
    queue: [], // events that arrived before the snapshot
    dead: false,
  };
}

function listen(s, conn) {
  const { signaling } = conn;
  const onEvent = (event) => {
    if (s.closed || conn.dead) return;
    if (!conn.ready) {
      conn.queue.push(event);
      return;
    }
    if (event.type === 'speakers') {
      // Who is talking changes several times a second; only the stage shows it.
      s.state.applyEvent(event);
      renderStage(s);
      return;
    }
    changeState(s, () => s.state.applyEvent(event));
  };
  for (const type of [...LOG_EVENTS, 'audience', 'speakers', 'hands', 'quality']) signaling.on(type, onEvent);
  signaling.on('error', (event) => {
    if (s.closed || conn.dead) return;
    if (event.code === 'session_replaced') {
      replaced(s);
      return;
    }
    setError(describeError(event));
  });
  signaling.onclose = () => connectionLost(s, conn);
}

/** Joins (or rejoins, with `last_seq`) over a new connection, then sets up its media. */
export async function openConnection(s, conn, { resume }) {
  s.conn = conn;
  listen(s, conn);
  await conn.signaling.connect();
  const fields = { v: 1, room: roomId, token: getToken() };
  if (resume && s.state.seq != null) fields.last_seq = s.state.seq;
  const joined = await conn.signaling.request('join', fields);
  if (s.closed || conn.dead) return;

  const before = s.entered ? s.state.you : null;
  const effects = s.state.applySnapshot(joined);
  // Log events that arrived before the reply apply if newer than the snapshot; an `audience`
  // or `speakers` event from before it is older than what the snapshot says.
  for (const event of conn.queue) {
    if (event.seq != null) effects.push(...s.state.applyEvent(event));
  }
  conn.queue = [];
  conn.ready = true;
  if (!s.entered) enterRoom();
  s.entered = true;
  afterChange(s, before, effects);
  if (s.closed) return;

  await connectMedia(s, conn, joined);
  if (s.closed || conn.dead) return;
  s.reconnectAttempt = 0;
  syncMic(s);
}

/** The websocket is gone (or the first offer failed): keep the visit and try again. */
export function connectionLost(s, conn) {
  if (conn.dead) return;
  closeConnection(conn);
  if (s.closed || s.conn !== conn) return;
  s.conn = null;
  if (!s.entered) return; // The first join reports its own failure.
  scheduleReconnect(s);
}

function scheduleReconnect(s) {
  if (s.reconnectAttempt >= RECONNECT_DELAYS_MS.length) {
    disconnected(s);
    return;
  }
  const delay = jittered(RECONNECT_DELAYS_MS[s.reconnectAttempt++]);
  setStatus('Reconnecting…');
  s.reconnectTimer = setTimeout(() => reconnect(s), delay);
}

async function reconnect(s) {
  s.reconnectTimer = null;
  if (s.closed) return;
  const conn = newConnection();
  try {
    await openConnection(s, conn, { resume: true });
  } catch (error) {
    if (s.closed) return;
    if (FINAL_JOIN_ERRORS.has(error.code)) {
      teardown(s);
      joinFailed(error);
      return;
    }
    connectionLost(s, conn); // Schedules the next try.
  }
}
