// Room page: join over the websocket, then one peer connection with one mic
// transceiver (first m-line) and K receive-only slots. Role changes never
// renegotiate: going on stage is just replaceTrack() on the mic transceiver.

import { api, ensureIdentity, forgetToken, getIdentity, getToken } from './api.js';
import { SignalingClient } from './signaling.js';

const STAGE_ROLES = new Set(['host', 'moderator', 'speaker']);
const MIC_CONSTRAINTS = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } };
const LEAVE_WAIT_MS = 2_000;
const CONNECTION_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Reconnecting…',
  failed: 'Disconnected',
  closed: 'Disconnected',
};

const $ = (id) => document.getElementById(id);
const ui = {
  title: $('room-title'),
  description: $('room-description'),
  host: $('room-host'),
  status: $('status'),
  error: $('error'),
  joinForm: $('join-form'),
  name: $('name'),
  joinButton: $('join-button'),
  rejoinButton: $('rejoin-button'),
  youName: $('you-name'),
  youRole: $('you-role'),
  live: $('live-indicator'),
  mute: $('mute-button'),
  leave: $('leave-button'),
  end: $('end-button'),
  stage: $('stage-list'),
  audience: $('audience-count'),
  remoteAudio: $('remote-audio'),
};
const VIEWS = ['missing-view', 'ended-view', 'join-view', 'disconnected-view', 'room-view'];

const roomId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const roomPath = `/api/rooms/${encodeURIComponent(roomId)}`;

/** The current visit to the room, or null when not joined. */
let session = null;

// ---- small view helpers -------------------------------------------------

function showView(id) {
  for (const view of VIEWS) $(view).hidden = view !== id;
}

function setStatus(text) {
  ui.status.textContent = text;
}

function setError(text) {
  ui.error.textContent = text;
}

function renderRoomInfo(room) {
  ui.title.textContent = room.title;
  document.title = `${room.title} · Dropin`;
  ui.description.textContent = room.description ?? '';
  ui.description.hidden = !room.description;
  ui.host.textContent = `Hosted by ${room.host.name}`;
  ui.host.hidden = false;
}

function renderStage(s) {
  const items = s.stage.map((member) => {
    const item = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = member.id === s.you.id ? `${member.name} (you)` : member.name;
    const role = document.createElement('span');
    role.className = `badge role-${member.role}`;
    role.textContent = member.role;
    item.append(name, ' · ', role);
    if (s.speaking.has(member.id)) {
      item.classList.add('speaking');
      const speaking = document.createElement('span');
      speaking.className = 'speaking-label';
      speaking.textContent = 'on mic';
      item.append(' ', speaking);
    }
    return item;
  });
  if (!items.length) {
    const empty = document.createElement('li');
    empty.className = 'muted';
    empty.textContent = 'Nobody on stage yet.';
    items.push(empty);
  }
  ui.stage.replaceChildren(...items);
}

function renderAudience(count) {
  ui.audience.textContent = `${count} listening`;
}

function renderYou(s) {
  ui.youName.textContent = s.you.name;
  ui.youRole.textContent = s.you.role;
  ui.youRole.className = `badge role-${s.you.role}`;
  ui.end.hidden = s.you.role !== 'host';
}

function renderMic(s) {
  ui.live.hidden = !s.mic;
  ui.mute.hidden = !s.mic;
  const muted = Boolean(s.mic && !s.mic.enabled);
  ui.mute.textContent = muted ? 'Unmute microphone' : 'Mute microphone';
  ui.mute.setAttribute('aria-pressed', String(muted));
}

// ---- microphone -----------------------------------------------------------

async function startMic(s) {
  if (s.mic || s.micStarting) return;
  s.micStarting = true;
  try {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error('this page needs HTTPS to use the microphone.');
    }
    const stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    const [track] = stream.getAudioTracks();
    if (s.closed || !STAGE_ROLES.has(s.you.role)) {
      track.stop();
      return;
    }
    await s.micTransceiver.sender.replaceTrack(track);
    s.mic = track;
  } catch (error) {
    setError(`Microphone blocked: ${error.message}`);
  } finally {
    s.micStarting = false;
    renderMic(s);
  }
}

async function stopMic(s) {
  if (!s.mic) return;
  const track = s.mic;
  s.mic = null;
  renderMic(s);
  track.stop();
  await s.micTransceiver.sender.replaceTrack(null);
}

/** Applies a role change: the mic follows the stage, no renegotiation. */
function applyRole(s, role) {
  if (role === s.you.role) return;
  s.you = { ...s.you, role };
  renderYou(s);
  if (STAGE_ROLES.has(role)) startMic(s);
  else stopMic(s);
}

// ---- media: one peer connection per visit -------------------------------

function playRemoteTrack(s, event) {
  const key = event.transceiver.mid;
  let audio = s.audio.get(key);
  if (!audio) {
    audio = document.createElement('audio');
    audio.autoplay = true;
    audio.dataset.mid = key;
    ui.remoteAudio.append(audio);
    s.audio.set(key, audio);
  }
  audio.srcObject = new MediaStream([event.track]);
  audio.play().catch(() => {}); // Autoplay may be refused; the Join click usually allows it.
}

async function connectMedia(s, joined) {
  const pc = new RTCPeerConnection({ iceServers: joined.ice_servers ?? [] });
  s.pc = pc;
  s.micTransceiver = pc.addTransceiver('audio', { direction: 'sendonly' });
  for (let slot = 0; slot < joined.slots; slot++) {
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }

  pc.ontrack = (event) => playRemoteTrack(s, event);
  pc.onconnectionstatechange = () => {
    if (s.closed) return;
    setStatus(CONNECTION_TEXT[pc.connectionState] ?? pc.connectionState);
    if (pc.connectionState === 'failed') disconnected(s);
  };

  // Candidates trickle after the offer, in order, over the same socket.
  let offerSent;
  const afterOffer = new Promise((resolve) => { offerSent = resolve; });
  pc.onicecandidate = ({ candidate }) => {
    if (!candidate?.candidate) return;
    afterOffer
      .then(() => s.signaling.request('candidate', {
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid,
        sdpMLineIndex: candidate.sdpMLineIndex,
      }))
      .catch(() => {}); // A refused candidate only loses one network path.
  };

  await pc.setLocalDescription(await pc.createOffer());
  const answer = s.signaling.request('offer', { sdp: pc.localDescription.sdp });
  offerSent();
  await pc.setRemoteDescription({ type: 'answer', sdp: (await answer).sdp });
}

// ---- the visit's lifecycle ------------------------------------------------

function wsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

function subscribe(s) {
  const { signaling } = s;
  signaling.on('stage', (event) => {
    if (s.closed || !s.you) return;
    if (event.seq != null && s.seq != null && event.seq <= s.seq) return; // Already in our snapshot.
    s.seq = event.seq ?? s.seq;
    s.stage = event.stage;
    renderStage(s);
    applyRole(s, s.stage.find((member) => member.id === s.you.id)?.role ?? 'listener');
  });
  signaling.on('audience', (event) => {
    if (!s.closed) renderAudience(event.count);
  });
  signaling.on('slots', (event) => {
    if (s.closed || !s.you) return;
    applySlots(s, event.slots);
  });
  signaling.on('room_ended', () => {
    if (!s.closed) roomEnded();
  });
  signaling.on('error', (event) => {
    if (!s.closed) setError(event.message);
  });
  signaling.onclose = () => {
    if (!s.closed) disconnected(s);
  };
}

/** Marks as speaking whoever holds a slot (the server forwards their audio). */
function applySlots(s, slots) {
  s.speaking = new Set(slots.filter((slot) => slot.speaker).map((slot) => slot.speaker.id));
  renderStage(s);
}

function enterRoom(s, joined) {
  s.you = joined.you;
  s.stage = joined.stage;
  s.seq = joined.seq;
  renderRoomInfo(joined.room);
  renderYou(s);
  applySlots(s, joined.slot_holders);
  renderAudience(joined.audience.count);
  renderMic(s);
  setStatus('Connecting…');
  showView('room-view');
}

/** Closes everything of one visit; safe to call more than once. */
function teardown(s) {
  if (s.closed) return;
  s.closed = true;
  if (session === s) session = null;
  s.signaling.onclose = null;
  s.signaling.close();
  s.mic?.stop();
  s.mic = null;
  s.pc?.close();
  for (const audio of s.audio.values()) audio.srcObject = null;
  ui.remoteAudio.replaceChildren();
  renderMic(s);
}

function disconnected(s) {
  teardown(s);
  setStatus('Disconnected');
  showView('disconnected-view');
  ui.rejoinButton.focus();
}

function roomEnded() {
  if (session) teardown(session);
  setStatus('This room has ended.');
  showView('ended-view');
}

function setJoining(joining) {
  ui.joinButton.disabled = joining;
  ui.rejoinButton.disabled = joining;
}

async function join() {
  setError('');
  setJoining(true);
  setStatus('Joining…');
  const s = {
    signaling: new SignalingClient(wsUrl()),
    pc: null,
    micTransceiver: null,
    mic: null,
    micStarting: false,
    you: null,
    stage: [],
    seq: null,
    speaking: new Set(),
    audio: new Map(), // transceiver mid -> <audio>
    closed: false,
  };
  session = s;
  try {
    await ensureIdentity(ui.name.value);
    subscribe(s);
    await s.signaling.connect();
    const joined = await s.signaling.request('join', { v: 1, room: roomId, token: getToken() });
    enterRoom(s, joined);
    await connectMedia(s, joined);
    if (STAGE_ROLES.has(s.you.role)) await startMic(s);
  } catch (error) {
    if (s.closed) return; // Left, ended or disconnected meanwhile; that view already shows.
    teardown(s);
    joinFailed(error);
  } finally {
    setJoining(false);
  }
}

function joinFailed(error) {
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
    default:
      setError(`Couldn't join the room: ${error.message}`);
  }
  setStatus('');
  showView('join-view');
}

async function leave() {
  const s = session;
  if (!s) return;
  ui.leave.disabled = true;
  s.signaling.onclose = null; // The server closes the socket after "leave"; that is expected.
  const wait = new Promise((resolve) => setTimeout(resolve, LEAVE_WAIT_MS));
  await Promise.race([s.signaling.request('leave'), wait]).catch(() => {});
  teardown(s);
  ui.leave.disabled = false;
  setError('');
  setStatus('You left the room.');
  showView('join-view');
  ui.joinButton.focus();
}

async function endRoom() {
  ui.end.disabled = true;
  try {
    await api('POST', `${roomPath}/end`);
    roomEnded();
  } catch (error) {
    setError(`Couldn't end the room: ${error.message}`);
  } finally {
    ui.end.disabled = false;
  }
}

function toggleMute() {
  if (!session?.mic) return;
  session.mic.enabled = !session.mic.enabled;
  renderMic(session);
}

function showMissing() {
  ui.title.textContent = "This room doesn't exist";
  document.title = 'Room not found · Dropin';
  ui.description.hidden = true;
  ui.host.hidden = true;
  setStatus('');
  showView('missing-view');
}

async function loadRoom() {
  if (!roomId) {
    showMissing();
    return;
  }
  try {
    const room = await api('GET', roomPath);
    renderRoomInfo(room);
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

// ---- wiring ---------------------------------------------------------------

ui.name.value = getIdentity()?.name ?? '';
ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  join();
});
ui.rejoinButton.addEventListener('click', join);
ui.leave.addEventListener('click', leave);
ui.end.addEventListener('click', endRoom);
ui.mute.addEventListener('click', toggleMute);

// Leaving the page leaves the room at once (best effort, no waiting).
window.addEventListener('pagehide', () => {
  if (!session) return;
  session.signaling.request('leave').catch(() => {});
  teardown(session);
  setStatus('You left the room.');
  showView('join-view');
});

loadRoom();
