// The peer connection of one websocket connection: one mic transceiver (first m-line) and
// K receive-only slots, offered over the websocket.
//
// When the media path breaks (`failed`, or `disconnected` for over 5 s) the page replaces
// the peer connection in place: a new one and a new `offer` over the same websocket; the
// server keeps the member's role, hand and place. If no try has connected 15 s after its
// answer, the page says the network seems to block the audio and offers "Try again".

import { playRemoteTrack } from './room-audio.js';
import { attachMic } from './room-mic.js';
import { remembered, setStatus, ui } from './room-view.js';

const ICE_DEADLINE_MS = 15_000;
const DISCONNECTED_GRACE_MS = 5_000;
const RETRY_DELAYS_MS = [0, 2_000, 4_000, 8_000, 16_000]; // the last repeats
const CONNECTION_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Reconnecting…',
  failed: 'Reconnecting…',
  closed: 'Disconnected',
};

/** Negotiates the connection's first peer connection (the join waits for its answer). */
export async function connectMedia(s, conn, joined) {
  conn.peer = {
    iceServers: joined.ice_servers ?? [],
    slots: joined.slots,
    tries: 0, // replacements since media last connected
    generation: 0, // the latest replacement, so that only it retries after failing
    retryTimer: null,
    graceTimer: null,
    deadlineTimer: null,
  };
  await negotiate(s, conn);
}

function peerConfig(iceServers) {
  const config = { iceServers };
  // A test switch (see docs/networks.md): only relayed (TURN) paths, as behind a strict firewall.
  if (remembered('dropin.iceTransportPolicy') === 'relay') config.iceTransportPolicy = 'relay';
  return config;
}

/** A new peer connection in place of the connection's last one, offered over its websocket. */
async function negotiate(s, conn) {
  const pc = new RTCPeerConnection(peerConfig(conn.peer.iceServers));
  const current = () => !s.closed && !conn.dead && conn.pc === pc;
  conn.pc?.close();
  conn.pc = pc;
  conn.mediaReady = false;
  conn.sentTrack = null;
  conn.micTransceiver = pc.addTransceiver('audio', { direction: 'sendonly' });
  for (let slot = 0; slot < conn.peer.slots; slot++) {
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }

  pc.ontrack = (event) => {
    if (current()) playRemoteTrack(event);
  };
  pc.onconnectionstatechange = () => {
    if (current()) stateChanged(s, conn);
  };

  // Candidates trickle after the offer, in order, over the same socket.
  let offerSent;
  const afterOffer = new Promise((resolve) => { offerSent = resolve; });
  pc.onicecandidate = ({ candidate }) => {
    if (!candidate?.candidate) return;
    afterOffer
      .then(() => current() && conn.signaling.request('candidate', {
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid,
        sdpMLineIndex: candidate.sdpMLineIndex,
      }))
      .catch(() => {}); // A refused candidate only loses one network path.
  };

  await pc.setLocalDescription(await pc.createOffer());
  const answer = conn.signaling.request('offer', { sdp: pc.localDescription.sdp });
  offerSent();
  await pc.setRemoteDescription({ type: 'answer', sdp: (await answer).sdp });
  if (!current()) return;
  conn.mediaReady = true;
  attachMic(s);
  startDeadline(s, conn);
}

function stateChanged(s, conn) {
  const { peer, pc } = conn;
  const state = pc.connectionState;
  setStatus(CONNECTION_TEXT[state] ?? state);
  clearTimeout(peer.graceTimer);
  if (state === 'connected') {
    peer.tries = 0;
    clearTimeout(peer.deadlineTimer);
    peer.deadlineTimer = null;
    ui.unreachable.hidden = true;
  } else if (state === 'failed') {
    scheduleReplace(s, conn);
  } else if (state === 'disconnected') {
    peer.graceTimer = setTimeout(() => scheduleReplace(s, conn), DISCONNECTED_GRACE_MS);
  }
}

/** Counts from the first answer that has not connected; retries do not restart it. */
function startDeadline(s, conn) {
  const { peer } = conn;
  if (peer.deadlineTimer || conn.pc.connectionState === 'connected') return;
  peer.deadlineTimer = setTimeout(() => {
    peer.deadlineTimer = null;
    if (!s.closed && !conn.dead && conn.pc.connectionState !== 'connected') ui.unreachable.hidden = false;
  }, ICE_DEADLINE_MS);
}

function scheduleReplace(s, conn) {
  const { peer } = conn;
  clearTimeout(peer.retryTimer);
  const delay = RETRY_DELAYS_MS[Math.min(peer.tries++, RETRY_DELAYS_MS.length - 1)];
  peer.retryTimer = setTimeout(() => replacePeer(s, conn), delay);
}

async function replacePeer(s, conn) {
  clearTimeout(conn.peer.retryTimer);
  clearTimeout(conn.peer.graceTimer);
  if (s.closed || conn.dead) return;
  const generation = ++conn.peer.generation;
  try {
    await negotiate(s, conn);
  } catch {
    // The socket closing reconnects everything; otherwise (a refused or lost offer) try again.
    if (!s.closed && !conn.dead && conn.peer.generation === generation) scheduleReplace(s, conn);
  }
}

/** "Try again": a new peer connection now, with a fresh deadline. */
export function retryMedia(s) {
  ui.unreachable.hidden = true;
  const conn = s?.conn;
  if (!conn?.peer || conn.dead || conn.pc?.connectionState === 'connected') return;
  conn.peer.tries = 0;
  clearTimeout(conn.peer.deadlineTimer);
  conn.peer.deadlineTimer = null;
  replacePeer(s, conn);
}

/** Closes a connection's websocket and peer connection for good. */
export function closeConnection(conn) {
  conn.dead = true;
  conn.signaling.onclose = null;
  conn.signaling.close();
  conn.pc?.close();
  if (conn.peer) {
    for (const timer of ['retryTimer', 'graceTimer', 'deadlineTimer']) clearTimeout(conn.peer[timer]);
  }
  ui.unreachable.hidden = true;
}
