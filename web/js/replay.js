// Replay on the round-up page: a room's recordings, each a file per slot played together in step,
// showing who was on stage and who was speaking as it plays. The host (and a club's hosts) can
// delete one.

import { api } from './api.js';
import { h } from './dom.js';
import { describeError } from './errors.js';
import { formatDateTime, formatDuration } from './time.js';

const DRIFT_S = 0.15; // a slot further than this from the first is put back in step

/** Who held the slots and who was speaking at `seconds` into the recording. */
function momentAt(timeline, seconds) {
  let found = { holders: [], speaking: [] };
  for (const moment of timeline) {
    if (moment.at > seconds) break;
    found = moment;
  }
  return found;
}

function onAirText({ holders, speaking }) {
  const talking = new Set(speaking.map((person) => person.id));
  const names = holders.filter(Boolean).map((person) => (talking.has(person.id) ? `${person.name} (speaking)` : person.name));
  return names.length ? `On stage: ${names.join(', ')}` : 'Nobody is speaking here.';
}

function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, '0')}`;
}

/** One recording's player: its slots' <audio> elements kept in step under one button and slider. */
function player(recording, number, { mayDelete, onDelete }) {
  const audios = recording.slots.map((src) => h('audio', { src, preload: 'auto' }));
  const [lead] = audios;
  const length = () => recording.seconds ?? (Number.isFinite(lead.duration) ? lead.duration : 0);
  const label = `recording ${number}`;
  const play = h('button', { type: 'button', class: 'primary', text: 'Play', 'aria-label': `Play ${label}` });
  const position = h('input', { type: 'range', min: '0', step: '0.1', value: '0', 'aria-label': `Position in ${label}` });
  const time = h('span', { class: 'muted', text: '0:00' });
  const onAir = h('p', { class: 'on-air', text: onAirText(momentAt(recording.timeline, 0)) });
  const error = h('p', { class: 'error', role: 'alert' });
  const when = `${formatDateTime(recording.started_at)}${recording.seconds ? ` · ${formatDuration(recording.seconds)}` : ''}`;

  const seek = (seconds) => {
    for (const audio of audios) audio.currentTime = seconds;
  };
  const show = () => {
    position.max = String(length());
    position.value = String(lead.currentTime);
    time.textContent = `${clock(lead.currentTime)} / ${clock(length())}`;
    onAir.textContent = onAirText(momentAt(recording.timeline, lead.currentTime));
  };
  play.addEventListener('click', async () => {
    error.textContent = '';
    if (!lead.paused) {
      for (const audio of audios) audio.pause();
      return;
    }
    seek(lead.currentTime);
    try {
      await Promise.all(audios.map((audio) => audio.play()));
    } catch (failure) {
      error.textContent = `Couldn't play the recording: ${failure.message}`;
    }
  });
  const playing = (on) => {
    play.textContent = on ? 'Pause' : 'Play';
    play.setAttribute('aria-label', `${play.textContent} ${label}`);
  };
  lead.addEventListener('play', () => playing(true));
  lead.addEventListener('pause', () => playing(false));
  lead.addEventListener('ended', () => { for (const audio of audios) audio.pause(); });
  lead.addEventListener('timeupdate', () => {
    for (const audio of audios.slice(1)) {
      if (!lead.paused && Math.abs(audio.currentTime - lead.currentTime) > DRIFT_S) audio.currentTime = lead.currentTime;
    }
    show();
  });
  lead.addEventListener('loadedmetadata', show);
  position.addEventListener('input', () => seek(Number(position.value)));

  const remove = mayDelete
    ? h('button', { type: 'button', class: 'danger', text: 'Delete recording', 'aria-label': `Delete ${label}` })
    : null;
  remove?.addEventListener('click', () => onDelete(recording, remove, error));
  return h('li', { class: 'recording' },
    h('h3', { text: `Recording ${number}` }),
    h('p', { class: 'muted', text: when }),
    h('div', { class: 'controls' }, play, position, time),
    onAir, error, remove, h('div', { hidden: true }, ...audios));
}

/** Fills `ui.list` with the recordings of the room at `roomPath`; `ui.section` shows only if it has
some (or they are not for this viewer, which `ui.note` says). */
export async function showRecordings(roomPath, ui) {
  let found;
  try {
    found = await api('GET', `${roomPath}/recordings`);
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      ui.note.textContent = "This room was recorded for its club's members and the people who were in it.";
      ui.section.hidden = false;
    }
    return; // no recordings for this viewer, or none at all: the round-up stands without them
  }
  const onDelete = async (recording, button, error) => {
    button.disabled = true;
    try {
      await api('DELETE', `${roomPath}/recordings/${encodeURIComponent(recording.id)}`);
      await showRecordings(roomPath, ui);
    } catch (failure) {
      error.textContent = `Couldn't delete the recording: ${describeError(failure)}`;
      button.disabled = false;
    }
  };
  const recordings = found.recordings ?? [];
  ui.list.replaceChildren(...recordings.map((recording, index) =>
    player(recording, index + 1, { mayDelete: found.may_delete, onDelete })));
  ui.note.textContent = '';
  ui.section.hidden = recordings.length === 0;
}
