// Hallway page: pick a name, start a room, or join one of the live rooms; see the
// scheduled rooms starting soon, browse the clubs, or start a club.

import { api, ensureIdentity, getIdentity } from './api.js';
import { h, plural, showCharactersLeft, statusBadge, syncChildren } from './dom.js';
import { describeError } from './errors.js';
import { formatOccurrenceTime } from './time.js';

const REFRESH_MS = 5_000;
const SCHEDULE_REFRESH_MS = 30_000;

const nameInput = document.getElementById('name');
const createForm = document.getElementById('create-form');
const createButton = document.getElementById('create-button');
const createError = document.getElementById('create-error');
const roomsList = document.getElementById('rooms');
const roomsStatus = document.getElementById('rooms-status');

const roomUrl = (id) => `/rooms/${encodeURIComponent(id)}`;

nameInput.value = getIdentity()?.name ?? '';
showCharactersLeft(createForm.elements.title, document.getElementById('title-left'));
showCharactersLeft(createForm.elements.description, document.getElementById('description-left'));

createForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  createError.textContent = '';
  const title = createForm.elements.title.value.trim();
  const description = createForm.elements.description.value.trim();
  if (!nameInput.value.trim()) {
    createError.textContent = 'Please enter your name first.';
    nameInput.focus();
    return;
  }
  if (!title) {
    createError.textContent = 'Please give your room a title.';
    createForm.elements.title.focus();
    return;
  }
  createButton.disabled = true;
  try {
    await ensureIdentity(nameInput.value);
    const settings = {
      allow_direct_stage: createForm.elements.allow_direct_stage.checked,
      speakers_may_unmute: createForm.elements.speakers_may_unmute.checked,
    };
    const slots = createForm.elements.slots.value;
    if (slots) settings.slots = Number(slots);
    const room = await api('POST', '/api/rooms', { title, description, settings });
    location.assign(roomUrl(room.id));
  } catch (error) {
    createError.textContent = `Couldn't create the room: ${error.message}`;
    createButton.disabled = false;
  }
});

// Joining from the hallway saves the typed name first, so the room page is ready to go.
async function joinFromHallway(room) {
  if (nameInput.value.trim()) {
    try {
      await ensureIdentity(nameInput.value);
    } catch {
      // The room page asks again and shows the error there.
    }
  }
  location.assign(roomUrl(room.id));
}

// Cards are kept per room id and updated in place, so a refresh never steals focus.
const cards = new Map(); // room id -> {item, room}

function createCard(room) {
  const item = document.createElement('li');
  item.className = 'card';
  item.innerHTML = `
    <h3 class="card-title"></h3>
    <p class="card-description"></p>
    <p class="card-host muted"></p>
    <p class="card-listeners"></p>
    <button type="button" class="primary">Join</button>`;
  const entry = { item, room };
  item.querySelector('button').addEventListener('click', () => joinFromHallway(entry.room));
  return entry;
}

function updateCard(entry, room) {
  const { item } = entry;
  entry.room = room;
  item.querySelector('.card-title').textContent = room.title;
  const description = item.querySelector('.card-description');
  description.textContent = room.description ?? '';
  description.hidden = !room.description;
  item.querySelector('.card-host').textContent = `Hosted by ${room.host.name}`;
  item.querySelector('.card-listeners').textContent = `${room.listeners} listening`;
  item.querySelector('button').setAttribute('aria-label', `Join ${room.title}`);
}

function renderRooms(rooms) {
  const live = new Set(rooms.map((room) => room.id));
  for (const [id, entry] of cards) {
    if (!live.has(id)) {
      entry.item.remove();
      cards.delete(id);
    }
  }
  // Walk the list in server order, moving a node only when it is out of place.
  let position = roomsList.firstElementChild;
  for (const room of rooms) {
    let entry = cards.get(room.id);
    if (!entry) {
      entry = createCard(room);
      cards.set(room.id, entry);
    }
    updateCard(entry, room);
    if (entry.item === position) position = position.nextElementSibling;
    else roomsList.insertBefore(entry.item, position);
  }
  roomsStatus.textContent = rooms.length ? '' : 'No live rooms right now. Start one!';
}

let refreshing = false;

async function refreshRooms() {
  if (refreshing) return;
  refreshing = true;
  try {
    const { rooms } = await api('GET', '/api/rooms');
    renderRooms(rooms);
  } catch (error) {
    roomsStatus.textContent = `Couldn't load live rooms: ${error.message}`;
  } finally {
    refreshing = false;
  }
}

refreshRooms();
setInterval(refreshRooms, REFRESH_MS);

// ---- scheduled rooms starting soon ------------------------------------------

const soonList = document.getElementById('soon');
const soonStatus = document.getElementById('soon-status');

const eventUrl = (id) => `/events/${encodeURIComponent(id)}`;
const clubUrl = (id) => `/clubs/${encodeURIComponent(id)}`;

function createSoonCard() {
  return h('li', { class: 'card' },
    h('h3', { class: 'card-title' }),
    h('p', { class: 'card-club muted' }),
    h('p', { class: 'card-time' }),
    h('p', { class: 'card-theme' }),
    h('p', { class: 'card-status' }),
    h('a', { class: 'button-link', text: 'View' }));
}

function updateSoonCard(item, occurrence) {
  item.querySelector('.card-title').textContent = occurrence.title ?? 'Scheduled room';
  const club = item.querySelector('.card-club');
  club.textContent = occurrence.club ? occurrence.club.name : '';
  club.hidden = !occurrence.club;
  item.querySelector('.card-time').textContent = formatOccurrenceTime(occurrence.starts_at, occurrence.timezone);
  const theme = item.querySelector('.card-theme');
  theme.textContent = occurrence.theme ? `Theme: ${occurrence.theme}` : '';
  theme.hidden = !occurrence.theme;
  const live = occurrence.status === 'live';
  item.querySelector('.card-status').replaceChildren(statusBadge(live ? 'live' : 'starting_soon'));
  const link = item.querySelector('a');
  link.href = eventUrl(occurrence.event_id);
  link.setAttribute('aria-label', `View ${occurrence.title ?? 'scheduled room'}`);
}

async function refreshSoon() {
  try {
    const { occurrences } = await api('GET', '/api/occurrences/soon');
    syncChildren(soonList, occurrences, (o) => `${o.event_id}/${o.date}`, createSoonCard, updateSoonCard);
    soonStatus.textContent = occurrences.length ? '' : 'Nothing scheduled in the next hour.';
  } catch (error) {
    soonStatus.textContent = `Couldn't load scheduled rooms: ${describeError(error)}`;
  }
}

// ---- clubs ----------------------------------------------------------------

const clubsList = document.getElementById('clubs');
const clubsStatus = document.getElementById('clubs-status');

function createClubCard() {
  return h('li', { class: 'card' },
    h('h3', { class: 'card-title' }, h('a')),
    h('p', { class: 'card-description' }),
    h('p', { class: 'card-members muted' }));
}

function updateClubCard(item, club) {
  const link = item.querySelector('.card-title a');
  link.href = clubUrl(club.id);
  link.textContent = club.name;
  const description = item.querySelector('.card-description');
  description.textContent = club.description ?? '';
  description.hidden = !club.description;
  const members = plural(club.member_count ?? 0, 'member');
  item.querySelector('.card-members').textContent =
    club.visibility === 'private' ? `Private club · ${members}` : members;
}

async function refreshClubs() {
  try {
    const { clubs } = await api('GET', '/api/clubs');
    syncChildren(clubsList, clubs, (club) => club.id, createClubCard, updateClubCard);
    clubsStatus.textContent = clubs.length ? '' : 'No clubs yet. Start one below!';
  } catch (error) {
    clubsStatus.textContent = `Couldn't load clubs: ${describeError(error)}`;
  }
}

// ---- start a club -----------------------------------------------------------

const clubForm = document.getElementById('club-form');
const clubButton = document.getElementById('club-button');
const clubError = document.getElementById('club-error');
showCharactersLeft(clubForm.elements.name, document.getElementById('club-name-left'));
showCharactersLeft(clubForm.elements.description, document.getElementById('club-description-left'));

clubForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clubError.textContent = '';
  const name = clubForm.elements.name.value.trim();
  const description = clubForm.elements.description.value.trim();
  if (!nameInput.value.trim()) {
    clubError.textContent = 'Please enter your name first.';
    nameInput.focus();
    return;
  }
  if (!name) {
    clubError.textContent = 'Please give your club a name.';
    clubForm.elements.name.focus();
    return;
  }
  clubButton.disabled = true;
  try {
    await ensureIdentity(nameInput.value);
    const club = await api('POST', '/api/clubs', {
      name,
      description,
      visibility: clubForm.elements.private.checked ? 'private' : 'public',
    });
    location.assign(clubUrl(club.id));
  } catch (error) {
    clubError.textContent = `Couldn't create the club: ${describeError(error)}`;
    clubButton.disabled = false;
  }
});

refreshSoon();
refreshClubs();
setInterval(() => {
  refreshSoon();
  refreshClubs();
}, SCHEDULE_REFRESH_MS);
