// Club page (/clubs/{id}): who runs it, follow it, subscribe to its calendar, see what is
// coming up and what happened; a club's hosts schedule rooms here. Its space (posts, round-ups,
// topic proposals), followed live, is club-space.js.

import { api } from './api.js';
import { showClubRecordings } from './club-recordings.js';
import { setupSpace } from './club-space.js';
import { $, h, pathPart, plural, showCharactersLeft, statusBadge } from './dom.js';
import { describeError } from './errors.js';
import { describeRecurrence, monthlyWords, recurrenceFor, weeklyWords } from './recurrence.js';
import { formatMinutes, formatOccurrenceTime, localInputValue, timeZones, viewerZone } from './time.js';
import { setupYou } from './you.js';

const REFRESH_MS = 30_000;
const PAST_SHOWN = 10;
const HOUR_MS = 3_600_000;

const ui = {
  title: $('club-title'),
  description: $('club-description'),
  hosts: $('club-hosts'),
  members: $('club-members'),
  actions: $('club-actions'),
  follow: $('follow-button'),
  calendar: $('calendar-link'),
  calendarHint: $('calendar-hint'),
  status: $('status'),
  error: $('error'),
  missing: $('missing-view'),
  missingText: $('missing-text'),
  youPanel: $('you-panel'),
  view: $('club-view'),
  upcoming: $('upcoming'),
  upcomingEmpty: $('upcoming-empty'),
  seriesPanel: $('series-panel'),
  series: $('series'),
  past: $('past'),
  pastEmpty: $('past-empty'),
  schedulePanel: $('schedule-panel'),
  form: $('schedule-form'),
  timezone: $('event-timezone'),
  start: $('event-start'),
  repeats: $('event-repeats'),
  everyWeeksField: $('every-weeks-field'),
  ends: $('ends-fieldset'),
  count: $('event-count'),
  until: $('event-until'),
  scheduleButton: $('schedule-button'),
  scheduleError: $('schedule-error'),
};

const clubId = pathPart(1);
const clubPath = `/api/clubs/${encodeURIComponent(clubId)}`;
const eventUrl = (id) => `/events/${encodeURIComponent(id)}`;
const you = setupYou();
const space = setupSpace({ clubPath, you, onChange: () => load({ quiet: true }) });

/** The club as last loaded (with series, upcoming and past). */
let club = null;
let shown = ''; // the lists last rendered, to leave them alone when nothing changed

// ---- the club -------------------------------------------------------------

function renderHeader() {
  ui.title.textContent = club.name;
  document.title = `${club.name} · Dropin`;
  ui.description.textContent = club.description ?? '';
  ui.description.hidden = !club.description;
  const hosts = (club.hosts ?? []).map((host) => host.name);
  ui.hosts.textContent = hosts.length ? `Hosted by ${hosts.join(', ')}` : '';
  ui.hosts.hidden = !hosts.length;

  const isPrivate = club.visibility === 'private';
  const member = Boolean(club.you?.member);
  const host = Boolean(club.you?.host);
  let members = plural(club.member_count ?? 0, 'member');
  if (isPrivate) members = `Private club · ${members}`;
  if (host) members += ' · you host this club';
  else if (member) members += isPrivate ? ' · you are a member' : ' · you follow this club';
  ui.members.textContent = members;
  ui.members.hidden = false;

  // Hosts stay members; a private club is joined through an invite link, not a button.
  ui.follow.hidden = isPrivate || host;
  ui.follow.textContent = member ? 'Unfollow' : 'Follow';
  ui.calendar.hidden = !club.calendar_url;
  if (club.calendar_url) ui.calendar.href = club.calendar_url;
  ui.calendarHint.hidden = ui.calendar.hidden;
  ui.actions.hidden = ui.follow.hidden && ui.calendar.hidden;
  ui.youPanel.hidden = ui.follow.hidden;
  ui.schedulePanel.hidden = !host;
}

function occurrenceItem(occurrence, titles) {
  const title = titles.get(occurrence.event_id) ?? occurrence.title ?? 'Scheduled room';
  const when = formatOccurrenceTime(occurrence.starts_at, occurrence.timezone);
  const interested = occurrence.rsvp_count ? ` · ${occurrence.rsvp_count} interested` : '';
  const roomUrl = occurrence.room_id ? `/rooms/${encodeURIComponent(occurrence.room_id)}` : null;
  return h('li', { class: `occurrence status-${occurrence.status}` },
    h('h3', { class: 'occurrence-title' }, h('a', { href: eventUrl(occurrence.event_id), text: title })),
    h('p', { class: 'occurrence-time', text: when }),
    occurrence.theme ? h('p', { class: 'occurrence-theme', text: `Theme: ${occurrence.theme}` }) : null,
    h('p', { class: 'occurrence-status' }, statusBadge(occurrence.status), interested),
    occurrence.status === 'live' && roomUrl
      ? h('a', { class: 'button-link primary', href: roomUrl, text: 'Join room', 'aria-label': `Join ${title}` })
      : null,
    occurrence.status === 'ended' && roomUrl
      ? h('a', { href: `${roomUrl}/roundup`, text: 'See the round-up', 'aria-label': `See the round-up of ${title}, ${when}` })
      : null);
}

function seriesItem(series) {
  const repeats = describeRecurrence(series.recurrence, series.start);
  return h('li', { class: 'occurrence' },
    h('h3', { class: 'occurrence-title' }, h('a', { href: eventUrl(series.id), text: series.title })),
    h('p', { class: 'muted', text: `${repeats} · ${formatMinutes(series.duration_minutes)}` }));
}

function renderLists() {
  const series = club.series ?? [];
  const upcoming = club.upcoming ?? [];
  const past = (club.past ?? []).slice(0, PAST_SHOWN);
  const key = JSON.stringify([series, upcoming, past]);
  if (key === shown) return;
  shown = key;
  const titles = new Map(series.map((s) => [s.id, s.title]));
  ui.upcoming.replaceChildren(...upcoming.map((o) => occurrenceItem(o, titles)));
  ui.upcomingEmpty.hidden = upcoming.length > 0;
  ui.series.replaceChildren(...series.map(seriesItem));
  ui.seriesPanel.hidden = series.length === 0;
  ui.past.replaceChildren(...past.map((o) => occurrenceItem(o, titles)));
  ui.pastEmpty.hidden = past.length > 0;
}

function showMissing(text) {
  ui.title.textContent = "This club doesn't exist";
  document.title = 'Club not found · Dropin';
  if (text) ui.missingText.textContent = text;
  ui.missing.hidden = false;
  ui.view.hidden = true;
  ui.youPanel.hidden = true;
  ui.actions.hidden = true;
}

async function load({ quiet = false } = {}) {
  if (!clubId) {
    showMissing();
    return;
  }
  try {
    club = await api('GET', clubPath);
  } catch (error) {
    if (error.status === 404) showMissing();
    else if (error.status === 403) {
      showMissing('This club is private. Ask one of its hosts for an invite link.');
      ui.title.textContent = 'Private club';
    } else if (!quiet) ui.error.textContent = `Couldn't load this club: ${describeError(error)}`;
    return;
  }
  ui.error.textContent = quiet ? ui.error.textContent : '';
  renderHeader();
  renderLists();
  const first = ui.view.hidden;
  ui.view.hidden = false;
  space.setClub(club);
  if (first) space.start();
  await showClubRecordings(clubPath, Boolean(club.you?.member), { section: $('recordings-panel'), list: $('recordings') });
}

async function toggleFollow() {
  if (!club) return;
  ui.error.textContent = '';
  const following = Boolean(club.you?.member);
  ui.follow.disabled = true;
  try {
    await you.identify();
    const updated = await api(following ? 'DELETE' : 'POST', `${clubPath}/follow`);
    club = { ...club, ...updated };
    renderHeader();
    ui.status.textContent = following ? `You no longer follow ${club.name}.` : `You follow ${club.name} now.`;
    space.setClub(club);
    await space.refresh();
  } catch (error) {
    ui.error.textContent = `Couldn't ${following ? 'unfollow' : 'follow'} the club: ${describeError(error)}`;
  } finally {
    ui.follow.disabled = false;
  }
}

// ---- scheduling a room (club hosts) -----------------------------------------

function fillTimeZones() {
  const mine = viewerZone();
  ui.timezone.replaceChildren(...timeZones().map((zone) => h('option', { value: zone, text: zone.replaceAll('_', ' ') })));
  ui.timezone.value = mine;
  const nextHour = new Date(Math.ceil(Date.now() / HOUR_MS) * HOUR_MS);
  ui.start.value = localInputValue(nextHour, mine);
}

/** The repeat choices say which weekday they mean, and only the fields that apply show. */
function syncRepeats() {
  const start = ui.start.value;
  const options = ui.repeats.options;
  for (const option of options) {
    if (option.value === 'weekly') option.textContent = weeklyWords(start);
    if (option.value === 'every_n_weeks') option.textContent = weeklyWords(start).replace('Weekly', 'Every few weeks');
    if (option.value === 'monthly') option.textContent = monthlyWords(start);
  }
  const repeats = ui.repeats.value;
  ui.everyWeeksField.hidden = repeats !== 'every_n_weeks';
  ui.ends.hidden = repeats === 'none';
  const ends = ui.form.elements.ends.value;
  ui.count.disabled = ends !== 'count';
  ui.until.disabled = ends !== 'until';
}

function scheduleFailed(text, field) {
  ui.scheduleError.textContent = text;
  field?.focus();
}

async function schedule(event) {
  event.preventDefault();
  ui.scheduleError.textContent = '';
  const { elements } = ui.form;
  const title = elements.title.value.trim();
  const timezone = ui.timezone.value;
  const start = ui.start.value.slice(0, 16);
  const duration = Number(elements.duration.value);
  if (!title) return scheduleFailed('Please give the room a title.', elements.title);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(start)) {
    return scheduleFailed('Please choose the date and time it starts.', ui.start);
  }
  if (start < localInputValue(new Date(), timezone)) {
    return scheduleFailed(`That time has already passed in ${timezone.replaceAll('_', ' ')}.`, ui.start);
  }
  if (!Number.isInteger(duration) || duration < 5 || duration > 720) {
    return scheduleFailed('Please enter a duration from 5 to 720 minutes.', elements.duration);
  }
  const recurrence = recurrenceFor({
    repeats: ui.repeats.value,
    everyWeeks: elements.every_weeks.value,
    start,
    ends: elements.ends.value,
    until: ui.until.value,
    count: ui.count.value,
  });
  if (recurrence.error) {
    const field = ui.repeats.value === 'every_n_weeks' && /weeks apart/.test(recurrence.error)
      ? elements.every_weeks
      : elements.ends.value === 'until' ? ui.until : ui.count;
    return scheduleFailed(recurrence.error, field);
  }
  ui.scheduleButton.disabled = true;
  try {
    const series = await api('POST', '/api/events', {
      club_id: club.id,
      title,
      agenda: elements.agenda.value.trim(),
      timezone,
      start,
      duration_minutes: duration,
      visibility: elements.visibility.value,
      recurrence,
    });
    location.assign(eventUrl(series.id));
  } catch (error) {
    ui.scheduleButton.disabled = false;
    scheduleFailed(`Couldn't schedule the room: ${describeError(error, {
      forbidden: "Only the club's hosts can schedule its rooms.",
    })}`);
  }
  return undefined;
}

fillTimeZones();
syncRepeats();
showCharactersLeft(ui.form.elements.title, $('event-title-left'));
ui.start.addEventListener('input', syncRepeats);
ui.repeats.addEventListener('change', syncRepeats);
for (const radio of ui.form.querySelectorAll('input[name="ends"]')) radio.addEventListener('change', syncRepeats);
ui.form.addEventListener('submit', schedule);
ui.follow.addEventListener('click', toggleFollow);

load();
setInterval(() => {
  if (club) load({ quiet: true });
}, REFRESH_MS);
