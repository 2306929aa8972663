// The club page's recordings (members only): the latest recordings of the club's rooms, each
// linking to its room's round-up page, which plays it.

import { api } from './api.js';
import { h } from './dom.js';
import { formatDateTime, formatDuration } from './time.js';

/** Lists the club's recordings in `ui.list`; `ui.section` shows only for a member, when there are some. */
export async function showClubRecordings(clubPath, member, ui) {
  if (!member) {
    ui.section.hidden = true;
    return;
  }
  let found;
  try {
    found = await api('GET', `${clubPath}/recordings`);
  } catch {
    ui.section.hidden = true; // not a member after all, or the server is busy: the page stands without them
    return;
  }
  const recordings = found.recordings ?? [];
  ui.list.replaceChildren(...recordings.map(({ title, roundup, recording }) => {
    const length = recording.seconds ? ` · ${formatDuration(recording.seconds)}` : '';
    return h('li', { class: 'occurrence' },
      h('h3', { class: 'occurrence-title' },
        h('a', { href: roundup, text: title, 'aria-label': `Play the recording of ${title}` })),
      h('p', { class: 'muted', text: `${formatDateTime(recording.started_at)}${length}` }));
  }));
  ui.section.hidden = recordings.length === 0;
}
