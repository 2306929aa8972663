// Round-up page (/rooms/{id}/roundup): what happened in a room that has ended. The host
// writes notes here; anyone can download it as Markdown or JSON.

import { api, getIdentity, getToken } from './api.js';
import { withLinks } from './chat.js';
import { $, h, pathPart, plural } from './dom.js';
import { describeError } from './errors.js';
import { showRecordings } from './replay.js';
import { byVotes } from './room-state.js';
import { formatDateTime, formatDuration } from './time.js';

const ui = {
  title: $('roundup-title'),
  description: $('roundup-description'),
  event: $('roundup-event'),
  eventLink: $('roundup-event-link'),
  downloads: $('downloads'),
  markdown: $('markdown-link'),
  json: $('json-link'),
  status: $('status'),
  error: $('error'),
  missing: $('missing-view'),
  missingText: $('missing-text'),
  view: $('roundup-view'),
  started: $('started'),
  ended: $('ended'),
  duration: $('duration'),
  peak: $('peak'),
  unique: $('unique'),
  hands: $('hands'),
  stage: $('stage-list'),
  stageEmpty: $('stage-empty'),
  listeners: $('listener-list'),
  listenersEmpty: $('listeners-empty'),
  questions: $('questions-list'),
  questionsEmpty: $('questions-empty'),
  chatCount: $('chat-count'),
  links: $('links-list'),
  linksEmpty: $('links-empty'),
  withChatField: $('with-chat-field'),
  withChat: $('with-chat'),
  notesText: $('notes-text'),
  notesForm: $('notes-form'),
  notes: $('notes'),
  notesButton: $('notes-button'),
  notesStatus: $('notes-status'),
  notesError: $('notes-error'),
  replay: { section: $('replay-panel'), note: $('replay-note'), list: $('recording-list') },
};

const roomId = pathPart(1);
const roomPath = `/api/rooms/${encodeURIComponent(roomId)}`;
const roundupPath = `${roomPath}/roundup`;

function render(roundup, room) {
  const title = roundup.room?.title ?? room?.title ?? 'Room';
  ui.title.textContent = title;
  document.title = `Round-up: ${title} · Dropin`;
  const description = roundup.room?.description ?? '';
  ui.description.textContent = description;
  ui.description.hidden = !description;
  const event = roundup.event ?? room?.event;
  ui.event.hidden = !event?.id;
  if (event?.id) ui.eventLink.href = `/events/${encodeURIComponent(event.id)}`;

  ui.started.textContent = roundup.started_at ? formatDateTime(roundup.started_at) : 'Not recorded';
  ui.ended.textContent = roundup.ended_at ? formatDateTime(roundup.ended_at) : 'Still live';
  const seconds = (Date.parse(roundup.ended_at) - Date.parse(roundup.started_at)) / 1000;
  ui.duration.textContent = Number.isFinite(seconds) ? formatDuration(seconds) : '—';
  ui.peak.textContent = String(roundup.peak_listeners ?? 0);
  ui.unique.textContent = String(roundup.unique_listeners ?? 0);
  ui.hands.textContent = String(roundup.hands_raised ?? 0);
  const people = roundup.chat_people?.length ?? 0;
  ui.chatCount.textContent = `${plural(roundup.chat_messages ?? 0, 'message')} from ${plural(people, 'person', 'people')}`;
  const links = roundup.links ?? [];
  ui.links.replaceChildren(...links.map((shared) =>
    h('li', { class: 'person' }, withLinks(shared.url), ` — ${shared.by.name}`)));
  ui.linksEmpty.hidden = links.length > 0;

  const stage = roundup.stage ?? [];
  ui.stage.replaceChildren(...stage.map((person) =>
    h('li', { class: 'person', text: `${person.name} — ${formatDuration(person.seconds)}` })));
  ui.stageEmpty.hidden = stage.length > 0;

  const listeners = roundup.listeners ?? [];
  ui.listeners.replaceChildren(...listeners.map((person) => h('li', { class: 'person', text: person.name })));
  ui.listenersEmpty.hidden = listeners.length > 0;

  const questions = [...(roundup.questions ?? [])].sort(byVotes);
  ui.questions.replaceChildren(...questions.map((question) =>
    h('li', { class: `question${question.answered ? ' answered' : ''}` },
      h('span', { class: 'vote-count', text: `${question.votes} ${question.votes === 1 ? 'vote' : 'votes'}` }),
      h('div', { class: 'question-body' },
        h('p', { class: 'question-text', text: question.text }),
        h('p', { class: 'question-meta muted' },
          `asked by ${question.by?.name ?? 'someone'} · `,
          h('span', { class: question.answered ? 'answered-tag' : '', text: question.answered ? 'answered' : 'not answered' }))))));
  ui.questionsEmpty.hidden = questions.length > 0;

  const me = getToken() ? getIdentity() : null;
  const host = Boolean(me && room?.host?.id === me.id);
  renderNotes(roundup.notes ?? '', host);
  ui.withChatField.hidden = !host;
  ui.markdown.href = `${roundupPath}.md${host && ui.withChat.checked ? '?chat=true' : ''}`;
  ui.json.href = roundupPath;
  ui.markdown.download = `roundup-${roomId}.md`;
  ui.json.download = `roundup-${roomId}.json`;
  ui.downloads.hidden = false;
}

function renderNotes(notes, host) {
  ui.notesForm.hidden = !host;
  ui.notesText.hidden = host;
  ui.notesText.textContent = notes || 'The host has not written any notes.';
  ui.notesText.classList.toggle('muted', !notes);
  if (host && document.activeElement !== ui.notes) ui.notes.value = notes;
}

async function saveNotes(event) {
  event.preventDefault();
  ui.notesError.textContent = '';
  ui.notesStatus.textContent = '';
  ui.notesButton.disabled = true;
  try {
    const reply = await api('PUT', `${roomPath}/notes`, { notes: ui.notes.value });
    ui.notes.value = reply?.notes ?? ui.notes.value;
    ui.notesStatus.textContent = 'Notes saved.';
  } catch (error) {
    ui.notesError.textContent = `Couldn't save the notes: ${describeError(error, {
      forbidden: 'Only the host can write the notes.',
    })}`;
  } finally {
    ui.notesButton.disabled = false;
  }
}

/** Downloads with your sign-in (a room that was not public needs it), saving under the link's name. */
async function download(event) {
  const link = event.currentTarget;
  event.preventDefault();
  ui.error.textContent = '';
  const headers = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    const response = await fetch(link.href, { headers });
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      throw Object.assign(new Error(data?.error?.message ?? `The server answered ${response.status}.`), {
        code: data?.error?.code,
      });
    }
    const url = URL.createObjectURL(await response.blob());
    const save = h('a', { href: url, download: link.download, hidden: true });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    ui.error.textContent = `Couldn't download the round-up: ${describeError(error)}`;
  }
}

function showMissing(text) {
  ui.title.textContent = 'No round-up here';
  document.title = 'Round-up not found · Dropin';
  if (text) ui.missingText.textContent = text;
  ui.missing.hidden = false;
  ui.view.hidden = true;
}

async function load() {
  if (!roomId) {
    showMissing();
    return;
  }
  const [roundup, room] = await Promise.allSettled([api('GET', roundupPath), api('GET', roomPath)]);
  if (roundup.status === 'rejected') {
    const error = roundup.reason;
    if (error.status === 404) showMissing();
    else if (error.status === 409) {
      showMissing('The round-up is ready when the room ends.');
      if (room.status === 'fulfilled') ui.missing.append(
        h('p', {}, h('a', { href: `/rooms/${encodeURIComponent(roomId)}`, text: 'Go to the room' })));
    } else if (error.status === 401 || error.status === 403) {
      showMissing('This round-up is only for the people who could join the room.');
    } else ui.error.textContent = `Couldn't load the round-up: ${describeError(error)}`;
    return;
  }
  render(roundup.value, room.status === 'fulfilled' ? room.value : null);
  ui.view.hidden = false;
  await showRecordings(roomPath, ui.replay);
}

ui.notesForm.addEventListener('submit', saveNotes);
ui.markdown.addEventListener('click', download);
ui.withChat.addEventListener('change', () => {
  ui.markdown.href = `${roundupPath}.md${ui.withChat.checked ? '?chat=true' : ''}`;
});
ui.json.addEventListener('click', download);
load();
