// Event page (/events/{id}): a scheduled room and its dates. Everyone can say they're
// interested in a date and join it when it is live; the host and co-hosts set themes,
// see who is interested, open the room, and make invite links.

import { api, getIdentity, getToken } from './api.js';
import { $, copyText, h, pathPart, plural, statusBadge, syncChildren } from './dom.js';
import { describeError } from './errors.js';
import { describeRecurrence, describeRecurrenceEnd } from './recurrence.js';
import { formatDateTime, formatMinutes, formatOccurrenceTime } from './time.js';
import { setupYou } from './you.js';

const REFRESH_MS = 20_000;
/** How early the page offers "Open room"; the server has the final word. */
const OPEN_EARLY_MS = 10 * 60_000;
const UPCOMING_SHOWN = 8;
const PAST_SHOWN = 8;

const VISIBILITY_WORDS = {
  public: 'Anyone can join.',
  club: 'Club members can join.',
  invite: 'Only people with an invite link can join.',
};

const ui = {
  title: $('event-title'),
  club: $('event-club'),
  clubLink: $('event-club-link'),
  agenda: $('event-agenda'),
  hosts: $('event-hosts'),
  schedule: $('event-schedule'),
  visibility: $('event-visibility'),
  calendar: $('calendar-link'),
  status: $('status'),
  error: $('error'),
  missing: $('missing-view'),
  missingText: $('missing-text'),
  youPanel: $('you-panel'),
  view: $('event-view'),
  occurrences: $('occurrences'),
  occurrencesEmpty: $('occurrences-empty'),
  pastPanel: $('past-panel'),
  past: $('past'),
  invitesPanel: $('invites-panel'),
  inviteForm: $('invite-form'),
  inviteFollowLabel: $('invite-follow-label'),
  inviteButton: $('invite-button'),
  inviteError: $('invite-error'),
  newInvite: $('new-invite'),
  inviteUrl: $('invite-url'),
  copyButton: $('copy-button'),
  copyStatus: $('copy-status'),
  invites: $('invites'),
  invitesEmpty: $('invites-empty'),
};

const eventId = pathPart(1);
const eventPath = `/api/events/${encodeURIComponent(eventId)}`;
const occurrencePath = (date) => `${eventPath}/occurrences/${encodeURIComponent(date)}`;
const roomUrl = (id) => `/rooms/${encodeURIComponent(id)}`;
const you = setupYou();

/** The series as last loaded, with `occurrences`. */
let series = null;
let invitesLoaded = false;
let startTimer = null;

const ENDED = new Set(['ended', 'missed']);

/** Whether you host this series (its host or a co-host). */
function hosting() {
  const me = getToken() ? getIdentity() : null;
  if (!me || !series) return false;
  return series.host?.id === me.id || (series.cohosts ?? []).some((cohost) => cohost.id === me.id);
}

function isHost() {
  const me = getToken() ? getIdentity() : null;
  return Boolean(me && series?.host?.id === me.id);
}

// ---- the series -------------------------------------------------------------

function renderHeader() {
  ui.title.textContent = series.title;
  document.title = `${series.title} · Dropin`;
  ui.club.hidden = !series.club;
  if (series.club) {
    ui.clubLink.href = `/clubs/${encodeURIComponent(series.club.id)}`;
    ui.clubLink.textContent = series.club.name;
  }
  ui.agenda.textContent = series.agenda ?? '';
  ui.agenda.hidden = !series.agenda;
  const cohosts = (series.cohosts ?? []).map((cohost) => cohost.name);
  ui.hosts.textContent = `Hosted by ${series.host?.name ?? 'someone'}${cohosts.length ? ` with ${listWords(cohosts)}` : ''}`;
  ui.hosts.hidden = false;
  const ends = describeRecurrenceEnd(series.recurrence);
  ui.schedule.textContent = [
    describeRecurrence(series.recurrence, series.start) + (ends ? `, ${ends}` : ''),
    formatMinutes(series.duration_minutes),
  ].join(' · ');
  ui.schedule.hidden = false;
  ui.visibility.textContent = VISIBILITY_WORDS[series.visibility] ?? '';
  ui.visibility.hidden = !ui.visibility.textContent;
  ui.calendar.hidden = !series.calendar_url;
  if (series.calendar_url) ui.calendar.href = series.calendar_url;
}

function listWords(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

// ---- one date ---------------------------------------------------------------

function createOccurrence(occurrence) {
  const id = `date-${occurrence.date}`;
  const item = h('li', { class: 'occurrence', 'aria-labelledby': `${id}-when` },
    h('h3', { class: 'occurrence-when', id: `${id}-when` }),
    h('p', { class: 'occurrence-theme' }),
    h('p', { class: 'occurrence-status' }, h('span', { class: 'badge-slot' }), h('span', { class: 'rsvp-count' })),
    h('p', { class: 'occurrence-note muted' }),
    h('div', { class: 'controls' },
      h('button', {
        type: 'button', class: 'rsvp-button', 'aria-pressed': 'false', 'aria-describedby': `${id}-when`,
        text: "I'm interested", onclick: () => toggleRsvp(item),
      }),
      h('a', { class: 'button-link primary join-link', href: '/', 'aria-describedby': `${id}-when`, text: 'Join room' }),
      h('a', { class: 'roundup-link', href: '/', 'aria-describedby': `${id}-when`, text: 'See the round-up' }),
      h('button', {
        type: 'button', class: 'primary open-button', 'aria-describedby': `${id}-when`,
        text: 'Open room', onclick: () => openRoom(item),
      }),
      h('button', {
        type: 'button', class: 'theme-button', 'aria-expanded': 'false', 'aria-controls': `${id}-theme-form`,
        'aria-describedby': `${id}-when`, text: 'Set theme', onclick: () => toggleThemeForm(item),
      }),
      h('button', {
        type: 'button', class: 'rsvps-button', 'aria-expanded': 'false', 'aria-controls': `${id}-rsvps`,
        'aria-describedby': `${id}-when`, text: "See who's interested", onclick: () => toggleRsvps(item),
      })),
    h('form', { class: 'theme-form', id: `${id}-theme-form`, hidden: true, novalidate: true, onsubmit: (e) => saveTheme(e, item) },
      h('div', { class: 'field' },
        h('label', { for: `${id}-theme`, text: 'Theme' }),
        h('input', { id: `${id}-theme`, name: 'theme', type: 'text', maxLength: 200, 'aria-describedby': `${id}-when` })),
      h('div', { class: 'controls' },
        h('button', { type: 'submit', class: 'primary', text: 'Save theme' }),
        h('button', { type: 'button', class: 'clear-theme', text: 'Remove theme', onclick: () => clearTheme(item) }))),
    h('div', { class: 'rsvps', id: `${id}-rsvps`, hidden: true },
      h('p', { class: 'rsvps-summary', role: 'status' }),
      h('ul', { class: 'people rsvps-list' })),
    h('p', { class: 'error occurrence-error', role: 'alert' }));
  item.dataset.date = occurrence.date;
  return item;
}

function updateOccurrence(item, occurrence) {
  const host = hosting();
  const now = Date.now();
  const startsAt = Date.parse(occurrence.starts_at);
  const endsAt = Date.parse(occurrence.ends_at);
  const over = ENDED.has(occurrence.status);
  const started = Number.isFinite(startsAt) ? now >= startsAt : occurrence.status === 'live';

  item.querySelector('.occurrence-when').textContent = formatOccurrenceTime(occurrence.starts_at, occurrence.timezone);
  const theme = item.querySelector('.occurrence-theme');
  theme.textContent = occurrence.theme ? `Theme: ${occurrence.theme}` : 'No theme yet';
  theme.classList.toggle('muted', !occurrence.theme);
  theme.hidden = !occurrence.theme && !host;
  item.querySelector('.badge-slot').replaceChildren(statusBadge(occurrence.status));
  item.querySelector('.rsvp-count').textContent = ` · ${occurrence.rsvp_count ?? 0} interested`;

  const rsvp = item.querySelector('.rsvp-button');
  rsvp.hidden = over;
  rsvp.setAttribute('aria-pressed', String(Boolean(occurrence.you_rsvped)));
  rsvp.title = occurrence.you_rsvped ? "You're interested. Press again if you're not interested any more." : '';

  // Hosts go in as soon as the room is open; everyone else from the start.
  const join = item.querySelector('.join-link');
  const joinable = Boolean(occurrence.room_id) && !over && (host || started);
  join.hidden = !joinable;
  if (occurrence.room_id) join.href = roomUrl(occurrence.room_id);

  const roundup = item.querySelector('.roundup-link');
  roundup.hidden = !(occurrence.status === 'ended' && occurrence.room_id);
  if (occurrence.room_id) roundup.href = `${roomUrl(occurrence.room_id)}/roundup`;

  const open = item.querySelector('.open-button');
  const inWindow = occurrence.status === 'starting_soon' || occurrence.status === 'live'
    || (occurrence.status === 'scheduled' && startsAt - now <= OPEN_EARLY_MS);
  open.hidden = !(host && !occurrence.room_id && !over && inWindow && !(endsAt <= now));

  const noteText = item.querySelector('.occurrence-note');
  let noteWords = '';
  if (occurrence.room_id && !over && !started && !host) noteWords = 'The host has opened the room. It opens for everyone at the start.';
  else if (occurrence.status === 'missed') noteWords = "This date's room was never opened.";
  noteText.textContent = noteWords;
  noteText.hidden = !noteWords;

  item.querySelector('.theme-button').hidden = !host || over;
  item.querySelector('.rsvps-button').hidden = !host;
  if (!host || over) closeThemeForm(item);
  if (!host) closeRsvps(item);
}

function findOccurrence(item) {
  return series?.occurrences?.find((o) => o.date === item.dataset.date) ?? null;
}

/** Puts an updated occurrence (a reply) in place and redraws its item. */
function replaceOccurrence(updated) {
  if (!series || !updated?.date) return;
  series = {
    ...series,
    occurrences: series.occurrences.map((o) => (o.date === updated.date ? { ...o, ...updated } : o)),
  };
  renderOccurrences();
}

function occurrenceError(item, text) {
  item.querySelector('.occurrence-error').textContent = text;
}

async function toggleRsvp(item) {
  const occurrence = findOccurrence(item);
  if (!occurrence) return;
  const button = item.querySelector('.rsvp-button');
  const going = !occurrence.you_rsvped;
  occurrenceError(item, '');
  button.disabled = true;
  try {
    await you.identify();
    const updated = await api(going ? 'POST' : 'DELETE', `${occurrencePath(occurrence.date)}/rsvp`);
    replaceOccurrence(updated);
    ui.status.textContent = going
      ? "You're interested. You'll see the room here when it starts."
      : "Got it: you're not interested in that date any more.";
  } catch (error) {
    occurrenceError(item, `Couldn't save that: ${describeError(error)}`);
  } finally {
    button.disabled = false;
  }
}

async function openRoom(item) {
  const occurrence = findOccurrence(item);
  if (!occurrence) return;
  const button = item.querySelector('.open-button');
  occurrenceError(item, '');
  button.disabled = true;
  try {
    const opened = await api('POST', `${occurrencePath(occurrence.date)}/open`);
    if (!opened.room_id) throw new Error('The server opened the room but did not say where it is. Please reload.');
    location.assign(roomUrl(opened.room_id));
  } catch (error) {
    button.disabled = false;
    occurrenceError(item, `Couldn't open the room: ${describeError(error, {
      forbidden: 'Only the host and co-hosts can open the room.',
      not_open_yet: `It's too early to open the room: ${error.message}.`,
    })}`);
  }
}

// Theme (hosts): a small inline form under the date.

function closeThemeForm(item) {
  item.querySelector('.theme-form').hidden = true;
  item.querySelector('.theme-button').setAttribute('aria-expanded', 'false');
}

function toggleThemeForm(item) {
  const form = item.querySelector('.theme-form');
  const opening = form.hidden;
  form.hidden = !opening;
  item.querySelector('.theme-button').setAttribute('aria-expanded', String(opening));
  if (opening) {
    const input = form.elements.theme;
    input.value = findOccurrence(item)?.theme ?? '';
    item.querySelector('.clear-theme').hidden = !findOccurrence(item)?.theme;
    input.focus();
  }
}

async function saveTheme(event, item) {
  event.preventDefault();
  const occurrence = findOccurrence(item);
  const theme = event.currentTarget.elements.theme.value.trim();
  if (!occurrence) return;
  if (!theme) {
    occurrenceError(item, 'Please type a theme, or use "Remove theme".');
    event.currentTarget.elements.theme.focus();
    return;
  }
  await changeTheme(item, occurrence, 'PUT', { theme });
}

async function clearTheme(item) {
  const occurrence = findOccurrence(item);
  if (occurrence) await changeTheme(item, occurrence, 'DELETE');
}

async function changeTheme(item, occurrence, method, body) {
  occurrenceError(item, '');
  const buttons = item.querySelectorAll('.theme-form button');
  for (const button of buttons) button.disabled = true;
  try {
    const reply = await api(method, `${occurrencePath(occurrence.date)}/theme`, body);
    closeThemeForm(item);
    item.querySelector('.theme-button').focus();
    if (reply?.date) replaceOccurrence(reply);
    else replaceOccurrence({ ...occurrence, theme: body?.theme ?? null });
    ui.status.textContent = body ? 'Theme saved.' : 'Theme removed.';
  } catch (error) {
    occurrenceError(item, `Couldn't change the theme: ${describeError(error)}`);
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

// Who is interested (hosts).

function closeRsvps(item) {
  item.querySelector('.rsvps').hidden = true;
  item.querySelector('.rsvps-button').setAttribute('aria-expanded', 'false');
}

async function toggleRsvps(item) {
  const panel = item.querySelector('.rsvps');
  const button = item.querySelector('.rsvps-button');
  if (!panel.hidden) {
    closeRsvps(item);
    return;
  }
  const occurrence = findOccurrence(item);
  if (!occurrence) return;
  occurrenceError(item, '');
  panel.hidden = false;
  button.setAttribute('aria-expanded', 'true');
  const summary = panel.querySelector('.rsvps-summary');
  const list = panel.querySelector('.rsvps-list');
  summary.textContent = 'Loading…';
  list.replaceChildren();
  try {
    const { count, people } = await api('GET', `${occurrencePath(occurrence.date)}/rsvps`);
    summary.textContent = count ? `${plural(count, 'person', 'people')} interested:` : 'Nobody has said they are interested yet.';
    list.replaceChildren(...(people ?? []).map((person) => h('li', { class: 'person', text: person.name })));
  } catch (error) {
    summary.textContent = '';
    closeRsvps(item);
    occurrenceError(item, `Couldn't load who is interested: ${describeError(error)}`);
  }
}

function renderOccurrences() {
  const all = series.occurrences ?? [];
  const upcoming = all.filter((o) => !ENDED.has(o.status)).slice(0, UPCOMING_SHOWN);
  const past = all.filter((o) => ENDED.has(o.status)).slice(-PAST_SHOWN).reverse();
  const key = (o) => o.date;
  syncChildren(ui.occurrences, upcoming, key, createOccurrence, updateOccurrence);
  ui.occurrencesEmpty.hidden = upcoming.length > 0;
  syncChildren(ui.past, past, key, createOccurrence, updateOccurrence);
  ui.pastPanel.hidden = past.length === 0;
  scheduleStartRefresh(upcoming);
}

/** Reloads just after the next start, when the room opens for everyone. */
function scheduleStartRefresh(upcoming) {
  clearTimeout(startTimer);
  const now = Date.now();
  const next = upcoming.map((o) => Date.parse(o.starts_at)).filter((t) => t > now).sort((a, b) => a - b)[0];
  if (next && next - now < REFRESH_MS * 3) startTimer = setTimeout(() => load({ quiet: true }), next - now + 1_000);
}

// ---- invite links (host) ------------------------------------------------------

function inviteState(invite) {
  if (invite.revoked) return 'revoked';
  if (invite.max_uses && invite.uses >= invite.max_uses) return 'used up';
  if (Date.parse(invite.expires_at) <= Date.now()) return 'expired';
  return 'valid';
}

function createInviteRow(invite) {
  const urlId = `invite-${invite.id}-url`;
  return h('li', { class: 'person invite' },
    h('code', { class: 'invite-url', id: urlId }),
    h('span', { class: 'invite-details muted' }),
    h('span', { class: 'row-actions' },
      h('button', {
        type: 'button', class: 'danger revoke-button', 'aria-describedby': urlId, text: 'Revoke',
        onclick: (event) => revokeInvite(invite.id, event.currentTarget),
      })));
}

function updateInviteRow(row, invite) {
  const state = inviteState(invite);
  row.querySelector('.invite-url').textContent = new URL(invite.url, location.origin).href;
  const uses = invite.max_uses ? `used ${invite.uses ?? 0} of ${invite.max_uses}` : `used ${invite.uses ?? 0} times`;
  const until = state === 'valid' ? ` · until ${formatDateTime(invite.expires_at)}` : '';
  const follows = invite.follow_club ? ' · also follows the club' : '';
  row.querySelector('.invite-details').textContent = `${state === 'valid' ? '' : `${state} · `}${uses}${until}${follows}`;
  row.classList.toggle('inactive', state !== 'valid');
  row.querySelector('.revoke-button').hidden = invite.revoked;
}

async function loadInvites() {
  try {
    const reply = await api('GET', `${eventPath}/invites`);
    const invites = Array.isArray(reply) ? reply : reply.invites ?? [];
    syncChildren(ui.invites, invites, (invite) => invite.id, createInviteRow, updateInviteRow);
    ui.invitesEmpty.hidden = invites.length > 0;
    invitesLoaded = true;
  } catch (error) {
    if (error.status === 403) {
      ui.invitesPanel.hidden = true; // Only the host makes invite links.
      return;
    }
    ui.inviteError.textContent = `Couldn't load the invite links: ${describeError(error)}`;
  }
}

async function createInvite(event) {
  event.preventDefault();
  const { elements } = ui.inviteForm;
  const hours = Number(elements.hours.value);
  const uses = Number(elements.uses.value);
  ui.inviteError.textContent = '';
  if (!Number.isInteger(hours) || hours < 1 || hours > 8760) {
    ui.inviteError.textContent = 'Please enter how many hours the link works, from 1 to 8760.';
    elements.hours.focus();
    return;
  }
  if (!Number.isInteger(uses) || uses < 1 || uses > 10000) {
    ui.inviteError.textContent = 'Please enter how many people may use the link, from 1 to 10000.';
    elements.uses.focus();
    return;
  }
  ui.inviteButton.disabled = true;
  try {
    const invite = await api('POST', `${eventPath}/invites`, {
      expires_in_hours: hours,
      max_uses: uses,
      follow_club: Boolean(series.club) && elements.follow.checked,
    });
    ui.inviteUrl.value = new URL(invite.url, location.origin).href;
    ui.newInvite.hidden = false;
    ui.copyStatus.textContent = '';
    ui.inviteUrl.focus();
    ui.inviteUrl.select();
    await loadInvites();
  } catch (error) {
    ui.inviteError.textContent = `Couldn't create the invite link: ${describeError(error, {
      forbidden: 'Only the host can make invite links.',
    })}`;
  } finally {
    ui.inviteButton.disabled = false;
  }
}

async function copyInvite() {
  const copied = await copyText(ui.inviteUrl.value, ui.inviteUrl);
  ui.copyStatus.textContent = copied ? 'Link copied.' : 'Copying is blocked here: select the link and copy it yourself.';
}

async function revokeInvite(id, button) {
  ui.inviteError.textContent = '';
  button.disabled = true;
  try {
    await api('DELETE', `/api/invites/${encodeURIComponent(id)}`);
    ui.status.textContent = 'Invite link revoked. It no longer works.';
    await loadInvites();
  } catch (error) {
    ui.inviteError.textContent = `Couldn't revoke the link: ${describeError(error)}`;
  } finally {
    button.disabled = false;
  }
}

// ---- the page -----------------------------------------------------------------

function showMissing(text, title = "This event doesn't exist") {
  ui.title.textContent = title;
  document.title = `${title} · Dropin`;
  if (text) ui.missingText.textContent = text;
  ui.missing.hidden = false;
  ui.view.hidden = true;
  ui.youPanel.hidden = true;
}

async function load({ quiet = false } = {}) {
  if (!eventId) {
    showMissing();
    return;
  }
  try {
    series = await api('GET', eventPath);
  } catch (error) {
    if (error.status === 404) showMissing();
    else if (error.status === 401 || error.status === 403) {
      showMissing(
        'This event is only for people the host invited. Open the invite link you were sent.',
        'Invited guests only',
      );
    } else if (!quiet) ui.error.textContent = `Couldn't load this event: ${describeError(error)}`;
    return;
  }
  if (!quiet) ui.error.textContent = '';
  renderHeader();
  renderOccurrences();
  ui.view.hidden = false;
  ui.youPanel.hidden = false;
  const showInvites = isHost();
  ui.invitesPanel.hidden = !showInvites;
  ui.inviteFollowLabel.hidden = !series.club;
  if (showInvites && !invitesLoaded) loadInvites();
}

ui.inviteForm.addEventListener('submit', createInvite);
ui.copyButton.addEventListener('click', copyInvite);

load();
setInterval(() => {
  if (series) load({ quiet: true });
}, REFRESH_MS);
