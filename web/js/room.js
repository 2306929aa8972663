// Room page: join over the websocket, then one peer connection with one mic
// transceiver (first m-line) and K receive-only slots. Role changes never
// renegotiate: going on stage is replaceTrack(mic), leaving it replaceTrack(null).
//
// A visit (joining until leaving) keeps one RoomState. An unexpected close of the
// websocket keeps the visit and reconnects with `last_seq`; each connection gets
// its own websocket and its own peer connection.

import { api, ensureIdentity, forgetToken, getIdentity, getToken } from './api.js';
import { confirmed } from './confirm.js';
import { $, clearList, fromTemplate, showCharactersLeft, syncChildren } from './dom.js';
import { describeError } from './errors.js';
import { ActionMenu } from './menu.js';
import { ACTION_LABELS, isModerator, isOnStage, memberActions } from './permissions.js';
import { showQuestions } from './questions.js';
import { RoomState } from './room-state.js';
import { SignalingClient } from './signaling.js';

const MIC_CONSTRAINTS = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } };
const LEAVE_WAIT_MS = 2_000;
// After a drop, try again at once (the server restarted, or this page's node died and another
// takes it), then back off; jitter keeps a whole node's members from coming back in one instant.
const RECONNECT_DELAYS_MS = [0, 1_000, 2_000, 4_000, 8_000, 16_000];
const jittered = (ms) => ms * (0.75 + Math.random() * 0.5);
const AUDIENCE_REFRESH_MS = 2_000;
const AUDIENCE_PAGE = 50;
const NOTE_MS = 10_000;
const TIMED_BAN_MINUTES = 60;
/** Join refusals that no retry can fix. */
const FINAL_JOIN_ERRORS = new Set([
  'room_ended', 'room_not_found', 'banned', 'unauthorized', 'token_expired', 'forbidden',
  'unsupported_version', 'invalid_message', 'not_open_yet', 'not_invited',
]);
const LOG_EVENTS = [
  'member_joined', 'member_left', 'member_updated', 'hand_raised', 'hand_lowered', 'invited',
  'invite_ended', 'member_removed', 'host_changed', 'room_ended', 'question_asked', 'question_updated',
];
const CONNECTION_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Reconnecting…',
  failed: 'Reconnecting…',
  closed: 'Disconnected',
};
const INVITE_END_NOTES = {
  lapsed: 'The invitation to speak expired.',
  left: '',
  accepted: '',
  declined: '',
};

const ui = {
  title: $('room-title'),
  description: $('room-description'),
  host: $('room-host'),
  status: $('status'),
  note: $('note'),
  error: $('error'),
  joinForm: $('join-form'),
  name: $('name'),
  joinButton: $('join-button'),
  rejoinButton: $('rejoin-button'),
  disconnectedText: $('disconnected-text'),
  youName: $('you-name'),
  youRole: $('you-role'),
  live: $('live-indicator'),
  moderatorMuted: $('moderator-muted'),
  mute: $('mute-button'),
  hand: $('hand-button'),
  leaveStage: $('leave-stage-button'),
  muteAll: $('mute-all-button'),
  leave: $('leave-button'),
  end: $('end-button'),
  hostPanel: $('host-panel'),
  endDialog: $('end-dialog'),
  handsPanel: $('hands-panel'),
  handsList: $('hands-list'),
  handsEmpty: $('hands-empty'),
  stage: $('stage-list'),
  stageEmpty: $('stage-empty'),
  audienceCount: $('audience-count'),
  audienceList: $('audience-list'),
  audienceMore: $('audience-more'),
  inviteDialog: $('invite-dialog'),
  inviteText: $('invite-text'),
  inviteAccept: $('invite-accept'),
  inviteDecline: $('invite-decline'),
  inviteError: $('invite-error'),
  removeDialog: $('remove-dialog'),
  removeForm: $('remove-form'),
  removeHeading: $('remove-heading'),
  removeCancel: $('remove-cancel'),
  remoteAudio: $('remote-audio'),
  eventInfo: $('room-event'),
  eventLink: $('room-event-link'),
  roundupLink: $('roundup-link'),
  askForm: $('ask-form'),
  question: $('question-text'),
  questionLeft: $('question-left'),
  askButton: $('ask-button'),
  askError: $('ask-error'),
  questionsList: $('questions-list'),
  questionsEmpty: $('questions-empty'),
};
const VIEWS = ['missing-view', 'ended-view', 'join-view', 'disconnected-view', 'room-view'];

const roomId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const roomPath = `/api/rooms/${encodeURIComponent(roomId)}`;
const menu = new ActionMenu();
const updateQuestionLeft = showCharactersLeft(ui.question, ui.questionLeft);

/** The current visit to the room, or null when not in one. */
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

let noteTimer = null;

/** A short, passing remark ("Ada is now the host."), announced politely. */
function note(text) {
  clearTimeout(noteTimer);
  ui.note.textContent = text;
  if (text) noteTimer = setTimeout(() => { ui.note.textContent = ''; }, NOTE_MS);
}

function formatTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  const sameDay = when.toDateString() === new Date().toDateString();
  return sameDay
    ? when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : when.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

// ---- rendering ------------------------------------------------------------

function renderRoomInfo(room) {
  ui.title.textContent = room.title;
  document.title = `${room.title} · Dropin`;
  ui.description.textContent = room.description ?? '';
  ui.description.hidden = !room.description;
  ui.host.textContent = `Hosted by ${room.host.name}`;
  ui.host.hidden = false;
}

/** Whether the microphone should be silent: muted at the server, or muted here and not yet confirmed. */
function micMuted(s) {
  return Boolean(s.state.you?.muted || s.selfMuted);
}

function renderYou(s) {
  const { you } = s.state;
  if (!you) return;
  const onStage = isOnStage(you.role);
  ui.youName.textContent = you.name;
  ui.youRole.textContent = you.role;
  ui.youRole.className = `badge role-${you.role}`;
  ui.live.hidden = !(onStage && s.mic);
  ui.mute.hidden = !onStage;
  ui.mute.textContent = micMuted(s) ? 'Unmute microphone' : 'Mute microphone';
  // A live region that stays in place, so the change is announced.
  ui.moderatorMuted.textContent = onStage && you.muted && you.muted_by === 'moderator' ? 'A moderator muted you.' : '';
  ui.hand.hidden = you.role !== 'listener';
  ui.hand.textContent = you.hand_raised ? 'Lower hand' : 'Raise hand';
  ui.leaveStage.hidden = !(you.role === 'speaker' || you.role === 'moderator');
  ui.muteAll.hidden = !isModerator(you.role);
  ui.hostPanel.hidden = you.role !== 'host';
  if (ui.hostPanel.hidden && ui.endDialog.open) ui.endDialog.close();
}

const PERSON_ROW = `
  <li class="person">
    <span class="name"></span>
    <span class="speaking-words visually-hidden" hidden>speaking</span>
    <span class="badge"></span>
    <span class="mic"></span>
    <span class="on-air-label" hidden>on air</span>
    <span class="tag" hidden></span>
    <span class="member-actions" hidden>
      <button type="button" class="actions-button" aria-haspopup="menu" aria-expanded="false">Actions</button>
    </span>
  </li>`;

function createPersonRow() {
  const row = fromTemplate(PERSON_ROW);
  row.querySelector('.actions-button').addEventListener('click', (event) => openMemberMenu(event.currentTarget));
  return row;
}

/** Shows the "Actions for NAME" button when the viewer may do anything to `target`. */
function updateActionsButton(s, row, target) {
  const wrap = row.querySelector('.member-actions');
  const button = wrap.querySelector('button');
  button.dataset.memberId = target.id;
  button.setAttribute('aria-label', `Actions for ${target.name}`);
  wrap.hidden = actionsFor(s, target).length === 0;
}

function updateStageRow(s, row, member) {
  const isYou = member.id === s.state.you.id;
  row.dataset.memberId = member.id;
  row.querySelector('.name').textContent = isYou ? `${member.name} (you)` : member.name;
  const badge = row.querySelector('.badge');
  badge.textContent = member.role;
  badge.className = `badge role-${member.role}`;
  const mic = row.querySelector('.mic');
  mic.hidden = false;
  mic.textContent = member.muted ? 'muted' : 'mic on';
  mic.className = member.muted ? 'mic mic-muted' : 'mic mic-on';
  mic.title = member.muted && member.muted_by === 'moderator' ? 'Muted by a moderator' : '';
  const onAir = s.state.onAir.has(member.id);
  row.classList.toggle('on-air', onAir);
  row.querySelector('.on-air-label').hidden = !onAir;
  showSpeaking(s, row, member.id);
  row.querySelector('.tag').hidden = true;
  updateActionsButton(s, row, member);
}

/** The ring around a stage member's name while they talk, and the word "speaking" for screen readers. */
function showSpeaking(s, row, id) {
  const speaking = s.state.speaking.has(id);
  row.dataset.speaking = String(speaking);
  row.querySelector('.speaking-words').hidden = !speaking;
}

function updateAudienceRow(s, row, person) {
  const isYou = person.id === s.state.you.id;
  row.dataset.memberId = person.id;
  row.querySelector('.name').textContent = isYou ? `${person.name} (you)` : person.name;
  row.querySelector('.badge').hidden = true;
  row.querySelector('.mic').hidden = true;
  row.querySelector('.on-air-label').hidden = true;
  row.querySelector('.speaking-words').hidden = true;
  delete row.dataset.speaking;
  const tag = row.querySelector('.tag');
  const invited = isModerator(s.state.you.role) && s.state.invitations.has(person.id);
  tag.hidden = !invited;
  tag.textContent = invited ? 'invited' : '';
  updateActionsButton(s, row, listenerView(person));
}

function renderStage(s) {
  const members = [...s.state.stage.values()];
  syncChildren(ui.stage, members, (member) => member.id, createPersonRow, (row, member) => updateStageRow(s, row, member));
  ui.stageEmpty.hidden = members.length > 0;
}

function renderAudience(s) {
  const { state } = s;
  ui.audienceCount.textContent = `${state.audienceCount} listening`;
  const people = state.audience;
  syncChildren(ui.audienceList, people, (person) => person.id, createPersonRow,
    (row, person) => updateAudienceRow(s, row, person));
  const more = state.audienceCount - state.audienceNames.length;
  ui.audienceMore.hidden = !(state.audienceNames.length >= AUDIENCE_PAGE && more > 0);
  ui.audienceMore.textContent = `and ${more} more`;
}

const HAND_ROW = `
  <li class="person">
    <span class="name"></span>
    <span class="tag" hidden>Invited — waiting</span>
    <span class="row-actions">
      <button type="button" class="invite-button">Invite to speak</button>
      <button type="button" class="dismiss-button">Dismiss</button>
    </span>
  </li>`;

function createHandRow() {
  const row = fromTemplate(HAND_ROW);
  row.querySelector('.invite-button').addEventListener('click', () => {
    if (session) act(session, 'invite', { target: row.dataset.memberId });
  });
  row.querySelector('.dismiss-button').addEventListener('click', () => {
    if (session) act(session, 'dismiss_hand', { target: row.dataset.memberId });
  });
  return row;
}

function updateHandRow(row, entry) {
  row.dataset.memberId = entry.id;
  row.querySelector('.name').textContent = entry.name;
  row.querySelector('.tag').hidden = !entry.invited;
  const invite = row.querySelector('.invite-button');
  invite.hidden = entry.invited;
  invite.setAttribute('aria-label', `Invite ${entry.name} to speak`);
  const dismiss = row.querySelector('.dismiss-button');
  dismiss.hidden = !entry.raised;
  dismiss.setAttribute('aria-label', `Dismiss ${entry.name}'s hand`);
}

/** Raised hands (oldest first), then invitations that no longer have a hand up. */
function renderHands(s) {
  const { state } = s;
  ui.handsPanel.hidden = !isModerator(state.you.role);
  if (ui.handsPanel.hidden) {
    clearList(ui.handsList);
    return;
  }
  const entries = state.hands.map((hand) => ({
    id: hand.id, name: hand.name, raised: true, invited: state.invitations.has(hand.id),
  }));
  for (const pending of state.invitations.values()) {
    if (pending.id === state.you.id || state.hands.some((hand) => hand.id === pending.id)) continue;
    entries.push({ id: pending.id, name: state.nameOf(pending.id), raised: false, invited: true });
  }
  syncChildren(ui.handsList, entries, (entry) => entry.id, createHandRow, updateHandRow);
  ui.handsEmpty.hidden = entries.length > 0;
}

// ---- questions ------------------------------------------------------------

function renderQuestions(s) {
  showQuestions(ui.questionsList, ui.questionsEmpty, s.state, {
    upvote,
    markAnswered,
    inviteAsker: (id) => session && act(session, 'invite', { target: id }),
  });
}

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

function renderAll(s) {
  if (s.closed || !s.state.you) return;
  renderRoomInfo(s.state.room);
  renderYou(s);
  renderHands(s);
  renderStage(s);
  renderQuestions(s);
  renderAudience(s);
  refreshMenu(s);
}

// ---- the per-member action menu ------------------------------------------

const listenerView = (person) => ({ id: person.id, name: person.name, role: 'listener', muted: false });

function findTarget(s, id) {
  const member = s.state.stage.get(id);
  if (member) return member;
  const person = s.state.audienceNames.find((p) => p.id === id);
  return person ? listenerView(person) : null;
}

function actionsFor(s, target) {
  return memberActions(s.state.you, target, s.state.settings, { invited: s.state.invitations.has(target.id) });
}

function menuItems(s, target) {
  return actionsFor(s, target).map((action) => ({
    label: ACTION_LABELS[action](target.name),
    danger: action === 'remove',
    run: () => runMemberAction(s, action, target),
  }));
}

function openMemberMenu(button) {
  const s = session;
  const target = s && findTarget(s, button.dataset.memberId);
  if (!target) return;
  menu.toggle(button, `Actions for ${target.name}`, menuItems(s, target));
}

/** Keeps an open menu true to the latest state (or closes it when its member is gone). */
function refreshMenu(s) {
  const trigger = menu.trigger;
  if (!trigger) return;
  const target = trigger.isConnected && findTarget(s, trigger.dataset.memberId);
  const items = target ? menuItems(s, target) : [];
  if (items.length) menu.update(items);
  else menu.close({ returnFocus: false });
}

function runMemberAction(s, action, target) {
  if (s.closed) return;
  if (action === 'remove') {
    openRemoveDialog(s, target);
    return;
  }
  act(s, action, { target: target.id });
}

// ---- requests -------------------------------------------------------------

/**
 * Sends a room action over the current connection. Resolves with {reply} or {error};
 * an error is shown on the page unless `silent`.
 */
async function act(s, type, fields = {}, { silent = false } = {}) {
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

/** Runs `change` on the state, then brings the mic, the page and the dialogs in line. */
function changeState(s, change) {
  const before = s.state.you;
  const effects = change() ?? [];
  afterChange(s, before, effects);
}

function afterChange(s, before, effects) {
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
      default:
        break;
    }
  }
  reconcileYou(s, before);
  renderAll(s);
  syncInviteDialog(s);
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

// ---- microphone -----------------------------------------------------------

/** Makes the mic follow the state: live on stage (enabled unless muted), stopped off it. */
function syncMic(s) {
  if (s.closed || !s.state.you) return;
  if (!isOnStage(s.state.you.role)) {
    stopMic(s);
    return;
  }
  if (!s.mic) {
    startMic(s);
    return;
  }
  s.mic.enabled = !micMuted(s);
  attachMic(s);
  renderYou(s);
}

async function startMic(s) {
  if (s.micStarting) return;
  s.micStarting = true;
  let track = null;
  try {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error('this page needs HTTPS to use the microphone.');
    }
    const stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    [track] = stream.getAudioTracks();
  } catch (error) {
    if (!s.closed) setError(`Microphone blocked: ${error.message}`);
  } finally {
    s.micStarting = false;
  }
  if (!track) return;
  if (s.closed || s.mic || !isOnStage(s.state.you.role)) {
    track.stop();
    return;
  }
  s.mic = track;
  syncMic(s);
}

/** Puts the mic on the current connection's first transceiver (no renegotiation). */
function attachMic(s) {
  const conn = s.conn;
  if (!conn?.mediaReady || conn.dead || conn.sentTrack === s.mic) return;
  conn.sentTrack = s.mic;
  conn.micTransceiver.sender.replaceTrack(s.mic).catch((error) => {
    if (!s.closed && !conn.dead) setError(`Couldn't send your microphone: ${error.message}`);
  });
}

function stopMic(s) {
  s.selfMuted = false;
  const track = s.mic;
  s.mic = null;
  track?.stop();
  const conn = s.conn;
  if (conn?.mediaReady && !conn.dead && conn.sentTrack) {
    conn.sentTrack = null;
    conn.micTransceiver.sender.replaceTrack(null).catch(() => {});
  }
  renderYou(s);
}

// ---- media: one peer connection per connection -----------------------------

function playRemoteTrack(event) {
  const key = event.transceiver.mid;
  let audio = ui.remoteAudio.querySelector(`audio[data-mid="${CSS.escape(String(key))}"]`);
  if (!audio) {
    audio = document.createElement('audio');
    audio.autoplay = true;
    audio.dataset.mid = key;
    ui.remoteAudio.append(audio);
  }
  audio.srcObject = new MediaStream([event.track]);
  audio.play().catch(() => {}); // Autoplay may be refused; the Join click usually allows it.
}

async function connectMedia(s, conn, joined) {
  const pc = new RTCPeerConnection({ iceServers: joined.ice_servers ?? [] });
  conn.pc = pc;
  conn.micTransceiver = pc.addTransceiver('audio', { direction: 'sendonly' });
  for (let slot = 0; slot < joined.slots; slot++) {
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }

  pc.ontrack = (event) => {
    if (!conn.dead) playRemoteTrack(event);
  };
  pc.onconnectionstatechange = () => {
    if (s.closed || conn.dead) return;
    setStatus(CONNECTION_TEXT[pc.connectionState] ?? pc.connectionState);
    if (pc.connectionState === 'failed') connectionLost(s, conn);
  };

  // Candidates trickle after the offer, in order, over the same socket.
  let offerSent;
  const afterOffer = new Promise((resolve) => { offerSent = resolve; });
  pc.onicecandidate = ({ candidate }) => {
    if (!candidate?.candidate) return;
    afterOffer
      .then(() => conn.signaling.request('candidate', {
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
  conn.mediaReady = true;
}

// ---- connections: one websocket (and peer connection) at a time -----------

function wsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

function newConnection() {
  return {
    signaling: new SignalingClient(wsUrl()),
    pc: null,
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
  for (const type of [...LOG_EVENTS, 'audience', 'speakers', 'hands']) signaling.on(type, onEvent);
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
async function openConnection(s, conn, { resume }) {
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
  if (!s.entered) enterRoom(s);
  s.entered = true;
  afterChange(s, before, effects);
  if (s.closed) return;

  await connectMedia(s, conn, joined);
  if (s.closed || conn.dead) return;
  s.reconnectAttempt = 0;
  syncMic(s);
}

/** The connection is gone (socket closed, media failed): keep the visit and try again. */
function connectionLost(s, conn) {
  if (conn.dead) return;
  conn.dead = true;
  conn.signaling.onclose = null;
  conn.signaling.close();
  conn.pc?.close();
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

// ---- the visit's lifecycle ------------------------------------------------

function newVisit() {
  return {
    state: new RoomState(),
    conn: null,
    entered: false, // the first snapshot arrived
    mic: null,
    micStarting: false,
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
}

function enterRoom(s) {
  clearList(ui.stage);
  clearList(ui.audienceList);
  clearList(ui.handsList);
  clearList(ui.questionsList);
  ui.askError.textContent = '';
  setStatus('Connecting…');
  showView('room-view');
}

/** Closes everything of one visit; safe to call more than once. */
function teardown(s) {
  if (s.closed) return;
  s.closed = true;
  if (session === s) session = null;
  clearTimeout(s.reconnectTimer);
  clearTimeout(s.audience.timer);
  const conn = s.conn;
  s.conn = null;
  if (conn) {
    conn.dead = true;
    conn.signaling.onclose = null;
    conn.signaling.close();
    conn.pc?.close();
  }
  s.mic?.stop();
  s.mic = null;
  for (const audio of ui.remoteAudio.querySelectorAll('audio')) audio.srcObject = null;
  ui.remoteAudio.replaceChildren();
  menu.close({ returnFocus: false });
  if (ui.inviteDialog.open) ui.inviteDialog.close();
  if (ui.removeDialog.open) ui.removeDialog.close();
  if (ui.endDialog.open) ui.endDialog.close();
  ui.live.hidden = true;
}

function disconnected(s, text = 'The connection to the room was lost.') {
  teardown(s);
  ui.disconnectedText.textContent = text;
  setStatus('Disconnected');
  showView('disconnected-view');
  ui.rejoinButton.focus();
}

function replaced(s) {
  disconnected(s, 'You joined this room from another window or tab, so this one was disconnected.');
}

function roomEnded() {
  if (session) teardown(session);
  setError('');
  note('');
  setStatus('This room has ended.');
  showView('ended-view');
}

function removedFromRoom(s, { banned_until: bannedUntil, banned_for_room: bannedForRoom }) {
  teardown(s);
  let text = 'You were removed from this room.';
  if (bannedForRoom) text += " You can't rejoin this room.";
  else if (bannedUntil) text += ` You can't rejoin until ${formatTime(bannedUntil)}.`;
  setError('');
  note('');
  setStatus(text);
  showView('join-view');
}

function setJoining(joining) {
  ui.joinButton.disabled = joining;
  ui.rejoinButton.disabled = joining;
}

async function join() {
  if (session) return;
  setError('');
  note('');
  setJoining(true);
  setStatus('Joining…');
  const s = newVisit();
  session = s;
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
    case 'banned':
      setError(error.message);
      break;
    default:
      setError(`Couldn't join the room: ${describeError(error)}`);
  }
  setStatus('');
  showView('join-view');
}

async function leave() {
  const s = session;
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

/** Runs one of your own requests, ignoring repeated clicks while it is in flight. */
async function once(type, run) {
  const s = session;
  if (!s || s.busy.has(type)) return;
  s.busy.add(type);
  try {
    await run(s);
  } finally {
    s.busy.delete(type);
  }
}

/** Ends the room for everyone, once the host confirms it. */
async function endRoom() {
  if (!(await confirmed(ui.endDialog, 'end'))) return;
  await once('end_room', async (s) => {
    const { reply } = await act(s, 'end_room');
    if (reply) roomEnded();
  });
}

function toggleMute() {
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

function toggleHand() {
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

function leaveStage() {
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

function muteAll() {
  return once('mute_all', async (s) => {
    const { reply } = await act(s, 'mute_all');
    if (reply) note('Everyone else on stage is muted.');
  });
}

// ---- dialogs --------------------------------------------------------------

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

function setInviteBusy(busy) {
  if (busy) ui.inviteError.textContent = '';
  ui.inviteAccept.disabled = busy;
  ui.inviteDecline.disabled = busy;
}

function answerInvite(type) {
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

function openRemoveDialog(s, target) {
  s.removeTarget = target;
  ui.removeForm.reset();
  ui.removeHeading.textContent = `Remove ${target.name}?`;
  ui.removeDialog.querySelector('.dialog-error')?.remove();
  ui.removeDialog.showModal();
}

async function confirmRemove(event) {
  event.preventDefault();
  const s = session;
  const target = s?.removeTarget;
  if (!target) {
    ui.removeDialog.close();
    return;
  }
  const ban = ui.removeForm.elements.ban.value;
  const fields = { target: target.id, ban };
  if (ban === 'timed') fields.ban_minutes = TIMED_BAN_MINUTES;
  await once('remove', async () => {
    const { reply, error } = await act(s, 'remove', fields, { silent: true });
    if (s.closed) return;
    if (reply) {
      s.removeTarget = null;
      ui.removeDialog.close();
      note(`${target.name} was removed from the room.`);
      return;
    }
    let message = ui.removeDialog.querySelector('.dialog-error');
    if (!message) {
      message = document.createElement('p');
      message.className = 'error dialog-error';
      message.setAttribute('role', 'alert');
      ui.removeForm.append(message);
    }
    message.textContent = describeError(error);
  });
}

// ---- audience names (REST, at most every 2 s) -----------------------------

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

// ---- the page -------------------------------------------------------------

/** A room opened for a scheduled event links back to the event's page. */
function renderEventLink(room) {
  const eventId = room.event?.id;
  ui.eventInfo.hidden = !eventId;
  if (eventId) ui.eventLink.href = `/events/${encodeURIComponent(eventId)}`;
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
ui.removeCancel.addEventListener('click', () => {
  if (session) session.removeTarget = null;
  ui.removeDialog.close();
});

// Leaving the page leaves the room at once (best effort, no waiting).
window.addEventListener('pagehide', () => {
  const s = session;
  if (!s) return;
  s.conn?.signaling.request('leave').catch(() => {});
  teardown(s);
  setStatus('You left the room.');
  showView('join-view');
});

loadRoom();
