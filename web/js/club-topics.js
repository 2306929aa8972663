// The club page's topic proposals (club-space.js draws them): members upvote them, and a host
// picks a coming date to make one its theme. Text goes in as text, never as HTML.

import { api } from './api.js';
import { fromTemplate, h, plural } from './dom.js';
import { describeError } from './errors.js';
import { formatOccurrenceTime } from './time.js';

const PROPOSAL = `
  <li class="occurrence proposal">
    <p class="prose proposal-text"></p>
    <p class="muted proposal-meta"></p>
    <div class="controls">
      <button type="button" class="proposal-vote" hidden>Upvote</button>
      <button type="button" class="proposal-delete" hidden>Delete</button>
    </div>
    <form class="proposal-adopt" novalidate hidden>
      <div class="field">
        <label class="proposal-date-label">Date</label>
        <select class="proposal-date" name="date"></select>
      </div>
      <div class="controls"><button type="submit" class="proposal-adopt-button">Make it the theme</button></div>
      <p class="error proposal-error" role="alert"></p>
    </form>
  </li>`;

let uid = 0;

/**
 * Rows of proposals for syncChildren: `create()` and `update(item, proposal)`. `act(method, path)`
 * calls the API and reads the space anew; `state` gives `me()` (the space's `you`), `myId()`,
 * `club()` (its hosts and coming dates), `failed(text)` and `adopted()` (after a theme is set).
 */
export function proposalRows({ clubPath, you, act, state }) {
  function createProposal() {
    const item = fromTemplate(PROPOSAL);
    const id = `adopt-${++uid}`;
    item.querySelector('.proposal-date-label').htmlFor = id;
    item.querySelector('.proposal-date').id = id;
    const path = () => `${clubPath}/proposals/${encodeURIComponent(item.dataset.proposalId)}`;
    item.querySelector('.proposal-vote').addEventListener('click', async () => {
      try {
        await you.identify();
      } catch (error) {
        state.failed(describeError(error));
        return;
      }
      act(item.dataset.voted === 'true' ? 'DELETE' : 'PUT', `${path()}/vote`);
    });
    item.querySelector('.proposal-delete').addEventListener('click', () => act('DELETE', path()));
    item.querySelector('.proposal-adopt').addEventListener('submit', async (event) => {
      event.preventDefault();
      const errorLine = item.querySelector('.proposal-error');
      const [eventId, date] = item.querySelector('.proposal-date').value.split('|');
      errorLine.textContent = '';
      try {
        await api('POST', `${path()}/adopt`, { event_id: eventId, date });
        await state.adopted();
      } catch (error) {
        errorLine.textContent = describeError(error, {
          forbidden: "Only the room's host and co-hosts can set its themes.",
        });
      }
    });
    return item;
  }

  function updateProposal(item, proposal) {
    const host = Boolean(state.me()?.host);
    item.dataset.proposalId = proposal.id;
    item.dataset.voted = String(proposal.you_voted);
    const text = item.querySelector('.proposal-text');
    text.textContent = proposal.text;
    const adopted = proposal.adopted;
    const meta = item.querySelector('.proposal-meta');
    if (adopted) {
      meta.replaceChildren(`Theme of `, h('a', { href: adopted.event_url, text: adopted.title }),
        ` on ${formatDay(adopted.date)} · proposed by ${proposal.by.name}`);
    } else {
      meta.textContent = `Proposed by ${proposal.by.name} · ${plural(proposal.votes, 'vote')}`;
    }
    const vote = item.querySelector('.proposal-vote');
    vote.hidden = Boolean(adopted) || !(state.me()?.member);
    vote.textContent = proposal.you_voted ? 'Upvoted' : 'Upvote';
    vote.setAttribute('aria-pressed', String(proposal.you_voted));
    item.querySelector('.proposal-delete').hidden = !(host || proposal.by.id === state.myId());
    const form = item.querySelector('.proposal-adopt');
    const dates = adoptableDates();
    form.hidden = Boolean(adopted) || !host || dates.length === 0;
    if (!form.hidden) {
      const select = item.querySelector('.proposal-date');
      const key = JSON.stringify(dates);
      if (select.dataset.shown !== key) {
        const chosen = select.value;
        select.replaceChildren(...dates.map((d) => h('option', { value: d.value, text: d.label })));
        if (dates.some((d) => d.value === chosen)) select.value = chosen;
        select.dataset.shown = key;
      }
      item.querySelector('.proposal-date-label').textContent = `Date for “${proposal.text}”`;
    }
  }

  function adoptableDates() {
    const titles = new Map((state.club()?.series ?? []).map((s) => [s.id, s.title]));
    return (state.club()?.upcoming ?? []).map((o) => ({
      value: `${o.event_id}|${o.date}`,
      label: `${titles.get(o.event_id) ?? 'Room'}, ${formatOccurrenceTime(o.starts_at, o.timezone)}`,
    }));
  }

  return { create: createProposal, update: updateProposal };
}

function formatDay(day) {
  return new Date(`${day}T12:00:00`).toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' });
}
