// The room's chat as a list: a row per message with who wrote it, when, and its text, in which
// http(s) links are made clickable. Nothing a member typed is ever parsed as HTML: the text goes
// in as text nodes, and a link is an <a> whose href is a URL that parsed as http or https.

import { fromTemplate, syncChildren } from './dom.js';
import { isModerator } from './permissions.js';

const LINK = /https?:\/\/[^\s<>"']+/g;
const TRAILING = /[.,;:!?)\]}]+$/; // punctuation after a link in a sentence is not part of it
const ROW = `
  <li class="chat-message">
    <p class="chat-meta"><span class="chat-author"></span> <time class="chat-time muted"></time></p>
    <p class="chat-text"></p>
    <button type="button" class="chat-delete">Delete</button>
  </li>`;

/**
 * Keeps `list` showing `state`'s chat (a RoomState), oldest first, and `empty` shown when there
 * is none. `actions.deleteMessage(id)` is offered to moderators on each message.
 */
export function showChat(list, empty, state, actions) {
  const messages = [...state.chat.values()];
  syncChildren(list, messages, (message) => message.id, () => createRow(actions),
    (row, message) => updateRow(state, row, message));
  empty.hidden = messages.length > 0;
}

/** `text` as text nodes and links: [node, ...]. */
export function withLinks(text) {
  const nodes = [];
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    const url = match[0].replace(TRAILING, '');
    const href = safeHref(url);
    if (!href) continue;
    nodes.push(document.createTextNode(text.slice(at, match.index)));
    const link = document.createElement('a');
    link.href = href;
    link.textContent = url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer nofollow ugc';
    nodes.push(link);
    at = match.index + url.length;
  }
  nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

function createRow(actions) {
  const row = fromTemplate(ROW);
  row.querySelector('.chat-delete').addEventListener('click', () => actions.deleteMessage(row.dataset.messageId));
  return row;
}

function updateRow(state, row, message) {
  if (row.dataset.messageId !== message.id) {
    row.dataset.messageId = message.id;
    row.querySelector('.chat-text').replaceChildren(...withLinks(message.text));
    const time = row.querySelector('.chat-time');
    time.dateTime = message.at;
    time.textContent = new Date(message.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  const mine = message.by.id === state.you.id;
  row.classList.toggle('mine', mine);
  row.querySelector('.chat-author').textContent = mine ? 'You' : message.by.name;
  const remove = row.querySelector('.chat-delete');
  remove.hidden = !isModerator(state.you.role);
  remove.setAttribute('aria-label', `Delete ${mine ? 'your' : `${message.by.name}'s`} message`);
}
