// Invite page (/invite/{token}): what the invitation is for, whether it still works,
// and "Accept invite", which gives you a name (if you have none) and takes you to the event.

import { api, ensureIdentity, getIdentity } from './api.js';
import { $, pathPart } from './dom.js';
import { INVITE_REASONS, describeError } from './errors.js';
import { describeRecurrence, describeRecurrenceEnd } from './recurrence.js';
import { formatDateTime, formatMinutes, formatOccurrenceTime } from './time.js';

const ui = {
  title: $('invite-title'),
  club: $('invite-club'),
  agenda: $('invite-agenda'),
  host: $('invite-host'),
  next: $('invite-next'),
  schedule: $('invite-schedule'),
  validity: $('invite-validity'),
  error: $('error'),
  acceptPanel: $('accept-panel'),
  form: $('accept-form'),
  name: $('your-name'),
  follow: $('accept-follow'),
  button: $('accept-button'),
  deadPanel: $('dead-panel'),
};

const token = pathPart(1);
const invitePath = `/api/invites/${encodeURIComponent(token)}`;

function render(invite) {
  const { event } = invite;
  ui.title.textContent = event.title;
  document.title = `Invitation: ${event.title} · Dropin`;
  const club = invite.club ?? event.club;
  ui.club.textContent = club ? `A room of ${club.name}` : '';
  ui.club.hidden = !club;
  ui.agenda.textContent = event.agenda ?? '';
  ui.agenda.hidden = !event.agenda;
  ui.host.textContent = `Hosted by ${event.host?.name ?? 'someone'}`;
  ui.host.hidden = !event.host;
  const next = event.next;
  ui.next.textContent = next
    ? `Next: ${formatOccurrenceTime(next.starts_at, next.timezone ?? event.timezone)}${next.theme ? ` · Theme: ${next.theme}` : ''}`
    : 'No more dates are scheduled.';
  ui.next.hidden = false;
  const ends = describeRecurrenceEnd(event.recurrence);
  ui.schedule.textContent = `${describeRecurrence(event.recurrence, event.start)}${ends ? `, ${ends}` : ''} · ${formatMinutes(event.duration_minutes)}`;
  ui.schedule.hidden = false;

  if (invite.valid) {
    ui.validity.textContent = invite.expires_at
      ? `This invite works until ${formatDateTime(invite.expires_at)}.`
      : 'This invite works.';
    ui.follow.textContent = club && invite.follow_club === true ? `Accepting also makes you a member of ${club.name}.` : '';
    ui.follow.hidden = !ui.follow.textContent;
    ui.acceptPanel.hidden = false;
    ui.deadPanel.hidden = true;
  } else {
    ui.validity.textContent = INVITE_REASONS[invite.reason] ?? 'This invite no longer works.';
    ui.acceptPanel.hidden = true;
    ui.deadPanel.hidden = false;
  }
}

async function load() {
  if (!token) {
    notFound();
    return;
  }
  try {
    render(await api('GET', invitePath));
  } catch (error) {
    if (error.status === 404) notFound();
    else ui.error.textContent = `Couldn't load the invitation: ${describeError(error)}`;
  }
}

function notFound() {
  ui.title.textContent = 'This invite link doesn\'t work';
  document.title = 'Invitation not found · Dropin';
  ui.validity.textContent = 'Check that you copied all of the link.';
  ui.deadPanel.hidden = false;
}

async function accept(event) {
  event.preventDefault();
  ui.error.textContent = '';
  if (!ui.name.value.trim()) {
    ui.error.textContent = 'Please enter your name first.';
    ui.name.focus();
    return;
  }
  ui.button.disabled = true;
  try {
    await ensureIdentity(ui.name.value);
    const accepted = await api('POST', `${invitePath}/accept`);
    location.assign(`/events/${encodeURIComponent(accepted.event_id)}`);
  } catch (error) {
    ui.button.disabled = false;
    ui.error.textContent = `Couldn't accept the invite: ${describeError(error)}`;
    if (['invite_expired', 'invite_revoked', 'invite_used_up'].includes(error.code)) load();
  }
}

ui.name.value = getIdentity()?.name ?? '';
ui.form.addEventListener('submit', accept);
load();
