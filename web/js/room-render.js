// Rendering a visit's RoomState: the room's title, your own panel, the stage, the audience,
// raised hands, questions and the chat. Buttons in the rows call the actions the page binds once
// (bindRenderActions), so this module sends nothing itself.

import { showChat } from './chat.js';
import { fromTemplate, clearList, h, syncChildren } from './dom.js';
import { isModerator, isOnStage, memberActions } from './permissions.js';
import { showQuestions } from './questions.js';
import { ui } from './room-view.js';

export const AUDIENCE_PAGE = 50;
/** Your own uplink levels at which the page warns that you may be hard to hear. */
const UP_TROUBLE = new Set(['poor', 'lost']);

/** {openMemberMenu(button), invite(id), dismissHand(id), upvote(id), markAnswered(id), inviteAsker(id),
 * deleteMessage(id)} */
let actions = null;

export function bindRenderActions(bound) {
  actions = bound;
}

export function renderRoomInfo(room) {
  ui.title.textContent = room.title;
  document.title = `${room.title} · Dropin`;
  ui.description.textContent = room.description ?? '';
  ui.description.hidden = !room.description;
  ui.host.textContent = `Hosted by ${room.host.name}`;
  ui.host.hidden = false;
  ui.recordingNotice.hidden = !room.recording;
  ui.record.textContent = room.recording ? 'Stop recording' : 'Start recording';
}

/** Whether the microphone should be silent: muted at the server, or muted here and not yet confirmed. */
export function micMuted(s) {
  return Boolean(s.state.you?.muted || s.selfMuted);
}

export function renderYou(s) {
  const { you } = s.state;
  if (!you) return;
  const onStage = isOnStage(you.role);
  ui.youName.textContent = you.name;
  ui.youRole.textContent = you.role;
  ui.youRole.className = `badge role-${you.role}`;
  ui.live.hidden = !(onStage && s.mic);
  ui.mute.hidden = !onStage;
  const muted = onStage && micMuted(s);
  ui.mute.textContent = muted ? 'Unmute microphone' : 'Mute microphone';
  ui.mute.classList.toggle('primary', muted);
  ui.micHint.textContent = muted && you.muted_by !== 'moderator'
    ? "You're muted. Say something and watch the level, then unmute when you're ready." : '';
  // A live region that stays in place, so the change is announced.
  ui.moderatorMuted.textContent = onStage && you.muted && you.muted_by === 'moderator' ? 'A moderator muted you.' : '';
  ui.hand.hidden = you.role !== 'listener';
  ui.hand.textContent = you.hand_raised ? 'Lower hand' : 'Raise hand';
  ui.leaveStage.hidden = !(you.role === 'speaker' || you.role === 'moderator');
  const up = s.state.quality.get(you.id)?.up;
  ui.hardToHear.textContent = onStage && UP_TROUBLE.has(up?.level)
    ? 'You may be hard to hear: the server is missing some of your audio. A steadier network helps.' : '';
  ui.muteAll.hidden = !isModerator(you.role);
  ui.hostPanel.hidden = you.role !== 'host';
  if (ui.hostPanel.hidden && ui.endDialog.open) ui.endDialog.close();
}

// A member's connection, for moderators: a labelled badge that opens into the numbers.
const QUALITY = `
    <details class="quality" hidden>
      <summary class="badge"></summary>
      <ul class="quality-details"></ul>
    </details>`;

const percent = (fraction) => `${(fraction * 100).toFixed(1)} %`;

function linkWords(link) {
  const parts = [`loss ${percent(link.loss)}`, `jitter ${Math.round(link.jitter_ms)} ms`];
  if (link.since_packet_s != null) parts.push(`last packet ${link.since_packet_s.toFixed(1)} s ago`);
  return `${link.level} (${parts.join(', ')})`;
}

/** Shows `id`'s connection quality in `row` to moderators (everyone else sees only their own, elsewhere). */
function showQuality(s, row, id) {
  const quality = isModerator(s.state.you.role) ? s.state.quality.get(id) : undefined;
  const details = row.querySelector('.quality');
  details.hidden = !quality;
  if (!quality) return;
  const summary = details.querySelector('summary');
  summary.textContent = `connection ${quality.level}`;
  summary.className = `badge quality-${quality.level}`;
  const lines = [];
  if (quality.down) lines.push(`Can they hear the room: ${linkWords(quality.down)}`);
  if (quality.up) lines.push(`Can the room hear them: ${linkWords(quality.up)}`);
  if (quality.rtt_ms != null) lines.push(`Round trip: ${Math.round(quality.rtt_ms)} ms`);
  details.title = lines.join('\n');
  details.querySelector('ul').replaceChildren(...lines.map((line) => h('li', { text: line })));
}

const PERSON_ROW = `
  <li class="person">
    <span class="name"></span>
    <span class="speaking-words visually-hidden" hidden>speaking</span>
    <span class="badge"></span>
    <span class="mic"></span>
    <span class="on-air-label" hidden>on air</span>
    <span class="tag" hidden></span>${QUALITY}
    <span class="member-actions" hidden>
      <button type="button" class="actions-button" aria-haspopup="menu" aria-expanded="false">Actions</button>
    </span>
  </li>`;

function createPersonRow() {
  const row = fromTemplate(PERSON_ROW);
  row.querySelector('.actions-button').addEventListener('click', (event) => actions.openMemberMenu(event.currentTarget));
  return row;
}

/** A listener as the action menu sees them. */
export const listenerView = (person) => ({ id: person.id, name: person.name, role: 'listener', muted: false });

/** What the viewer may do to `target` right now. */
export function actionsFor(s, target) {
  return memberActions(s.state.you, target, s.state.settings, { invited: s.state.invitations.has(target.id) });
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
  showQuality(s, row, member.id);
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
  showQuality(s, row, person.id);
  updateActionsButton(s, row, listenerView(person));
}

export function renderStage(s) {
  const members = [...s.state.stage.values()];
  syncChildren(ui.stage, members, (member) => member.id, createPersonRow, (row, member) => updateStageRow(s, row, member));
  ui.stageEmpty.hidden = members.length > 0;
}

export function renderAudience(s) {
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
    <span class="tag" hidden>Invited — waiting</span>${QUALITY}
    <span class="row-actions">
      <button type="button" class="invite-button">Invite to speak</button>
      <button type="button" class="dismiss-button">Dismiss</button>
    </span>
  </li>`;

function createHandRow() {
  const row = fromTemplate(HAND_ROW);
  row.querySelector('.invite-button').addEventListener('click', () => actions.invite(row.dataset.memberId));
  row.querySelector('.dismiss-button').addEventListener('click', () => actions.dismissHand(row.dataset.memberId));
  return row;
}

function updateHandRow(s, row, entry) {
  row.dataset.memberId = entry.id;
  showQuality(s, row, entry.id);
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
export function renderHands(s) {
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
  syncChildren(ui.handsList, entries, (entry) => entry.id, createHandRow, (row, entry) => updateHandRow(s, row, entry));
  ui.handsEmpty.hidden = entries.length > 0;
}

export function renderQuestions(s) {
  showQuestions(ui.questionsList, ui.questionsEmpty, s.state, {
    upvote: actions.upvote,
    markAnswered: actions.markAnswered,
    inviteAsker: actions.inviteAsker,
  });
}

/** The chat: its messages, whether it is on or slowed, the form (off for you when it is) and, for
 * moderators, its settings. Keeps the list scrolled to the newest message if it was there. */
export function renderChat(s) {
  const { state } = s;
  const list = ui.chatList;
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  showChat(list, ui.chatEmpty, state, { deleteMessage: actions.deleteMessage });
  if (atEnd) list.scrollTop = list.scrollHeight;
  ui.chatEarlier.hidden = !state.chatMore;
  const { enabled, slow_s: slow } = state.chatState;
  const moderator = isModerator(state.you.role);
  ui.chatStatus.textContent = !enabled
    ? (moderator ? 'Chat is off for everyone but moderators.' : 'A moderator has turned the chat off.')
    : slow > 0 ? `Slow mode: listeners may send one message every ${slow} s.` : '';
  ui.chatStatus.hidden = !ui.chatStatus.textContent;
  ui.chatSend.disabled = !enabled && !moderator;
  ui.chatText.disabled = !enabled && !moderator;
  ui.chatSettings.hidden = !moderator;
  if (document.activeElement !== ui.chatEnabled) ui.chatEnabled.checked = enabled;
  if (document.activeElement !== ui.chatSlow) ui.chatSlow.value = String(slow);
}

const REACTION_EMOJI = { applause: '👏', plus_one: '👍', heart: '❤️', laugh: '😂', thinking: '🤔' };
const REACTIONS_SHOWN_MS = 3_000;
let shownReactions = {};
let reactionsTimer = null;

/** Shows the room's reactions by the stage for a few seconds, adding up those that keep coming. */
export function showReactions(counts) {
  for (const [kind, count] of Object.entries(counts)) shownReactions[kind] = (shownReactions[kind] ?? 0) + count;
  ui.reactionsShown.textContent = Object.entries(REACTION_EMOJI) // always in the buttons' order
    .filter(([kind]) => shownReactions[kind])
    .map(([kind, emoji]) => `${emoji} ${shownReactions[kind]}`)
    .join('  ');
  clearTimeout(reactionsTimer);
  reactionsTimer = setTimeout(() => {
    shownReactions = {};
    ui.reactionsShown.textContent = '';
  }, REACTIONS_SHOWN_MS);
}
