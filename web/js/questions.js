// The room's typed questions as a list: a row per question with its votes, and the buttons the
// viewer's role allows (upvote; for moderators, mark answered and invite the asker to speak).

import { fromTemplate, plural, syncChildren } from './dom.js';
import { isModerator } from './permissions.js';

const LABEL_CHARS = 40;
const ROW = `
  <li class="question">
    <button type="button" class="vote-button"></button>
    <div class="question-body">
      <p class="question-text"></p>
      <p class="question-meta muted">
        <span class="asker"></span>
        <span class="answered-tag" hidden>answered</span>
        <span class="vote-words visually-hidden"></span>
      </p>
    </div>
    <span class="row-actions">
      <button type="button" class="answered-button">Mark answered</button>
      <button type="button" class="invite-asker-button"></button>
    </span>
  </li>`;

let rows = 0;

/**
 * Keeps `list` showing `state`'s questions (a RoomState), most voted first, and `empty` shown
 * when there are none. `actions` are called with a question's id: `upvote`, `markAnswered`,
 * and `inviteAsker` with the asker's member id.
 */
export function showQuestions(list, empty, state, actions) {
  const questions = state.sortedQuestions;
  syncChildren(list, questions, (question) => question.id, () => createRow(actions),
    (row, question) => updateRow(state, row, question));
  empty.hidden = questions.length > 0;
}

/** The start of a question for a button's name: "Upvote: How do we…" (40 characters). */
function questionStart(text) {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length > LABEL_CHARS ? `${clean.slice(0, LABEL_CHARS).trimEnd()}…` : clean;
}

function createRow(actions) {
  const row = fromTemplate(ROW);
  const words = row.querySelector('.vote-words');
  words.id = `question-votes-${++rows}`;
  row.querySelector('.vote-button').setAttribute('aria-describedby', words.id);
  row.querySelector('.vote-button').addEventListener('click', () => actions.upvote(row.dataset.questionId));
  row.querySelector('.answered-button').addEventListener('click', () => actions.markAnswered(row.dataset.questionId));
  row.querySelector('.invite-asker-button').addEventListener('click', () => actions.inviteAsker(row.dataset.askerId));
  return row;
}

function updateRow(state, row, question) {
  const moderator = isModerator(state.you.role);
  const voted = state.yourVotes.has(question.id);
  const start = questionStart(question.text);
  row.dataset.questionId = question.id;
  row.dataset.askerId = question.by.id;
  row.classList.toggle('answered', question.answered);
  row.querySelector('.question-text').textContent = question.text;
  const mine = question.by.id === state.you.id;
  row.querySelector('.asker').textContent = mine ? 'asked by you' : `asked by ${question.by.name}`;
  row.querySelector('.answered-tag').hidden = !question.answered;
  row.querySelector('.vote-words').textContent =
    `${plural(question.votes, 'vote')}${voted ? ', including yours' : ''}`;

  const vote = row.querySelector('.vote-button');
  vote.textContent = `▲ ${question.votes}`;
  vote.setAttribute('aria-label', `Upvote: ${start}`);
  vote.setAttribute('aria-pressed', String(voted));
  vote.disabled = voted || question.answered;

  const answered = row.querySelector('.answered-button');
  answered.hidden = !moderator || question.answered;
  answered.setAttribute('aria-label', `Mark answered: ${start}`);

  const invite = row.querySelector('.invite-asker-button');
  const canInvite = moderator && !mine && !question.answered && state.isListener(question.by.id)
    && !state.invitations.has(question.by.id);
  invite.hidden = !canInvite;
  invite.textContent = `Invite ${question.by.name} to speak`;
}
