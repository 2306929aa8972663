// The club's space on the club page: posts and replies (hosts pin, delete and mute), the
// round-up posts of its ended rooms, and topic proposals that members upvote and a host makes
// the theme of a date (their rows: club-topics.js). It follows the space live (Server-Sent Events from /api/clubs/{id}/live)
// and reads it anew on each change. Nothing anyone typed is parsed as HTML: text goes in as
// text nodes, and only http(s) links become <a> (withLinks, as in the room's chat).

import { api, getToken } from './api.js';
import { withLinks } from './chat.js';
import { $, fromTemplate, plural, showCharactersLeft, syncChildren } from './dom.js';
import { describeError } from './errors.js';
import { proposalRows } from './club-topics.js';

const PAGE = 20;
const PAGE_MAX = 50; // the most one request reads
const REFRESH_DELAY_MS = 150; // changes that come together are read once

const POST = `
  <li class="occurrence post">
    <p class="post-meta"><strong class="post-author"></strong> <time class="muted post-time"></time>
      <span class="badge post-pinned" hidden>Pinned</span></p>
    <p class="prose post-text"></p>
    <p class="muted post-figures" hidden></p>
    <p class="post-roundup" hidden><a class="roundup-link">See the round-up</a></p>
    <div class="controls post-controls">
      <button type="button" class="post-pin" hidden></button>
      <button type="button" class="post-mute" hidden></button>
      <button type="button" class="post-delete" hidden>Delete</button>
    </div>
    <ul class="occurrences post-replies"></ul>
    <form class="post-reply-form" novalidate hidden>
      <div class="field">
        <label class="post-reply-label">Your reply</label>
        <input class="post-reply-text" name="text" type="text" maxlength="1000" autocomplete="off">
      </div>
      <div class="controls"><button type="submit" class="post-reply-button">Reply</button></div>
      <p class="error post-reply-error" role="alert"></p>
    </form>
  </li>`;

const REPLY = `
  <li class="occurrence reply">
    <p class="post-meta"><strong class="reply-author"></strong> <time class="muted reply-time"></time></p>
    <p class="prose reply-text"></p>
    <button type="button" class="reply-delete" hidden>Delete</button>
  </li>`;

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

/**
 * Wires the space's elements of club.html. `you` is the page's setupYou(); `onChange` is called
 * when the space changed (the page re-reads its lists: a round-up or a theme changes them).
 */
export function setupSpace({ clubPath, you, onChange }) {
  const ui = {
    note: $('space-note'),
    postForm: $('post-form'),
    postText: $('post-text'),
    postButton: $('post-button'),
    postError: $('post-error'),
    pinned: $('pinned-posts'),
    posts: $('posts'),
    empty: $('posts-empty'),
    older: $('older-posts'),
    error: $('space-error'),
    proposalForm: $('proposal-form'),
    proposalText: $('proposal-text'),
    proposalButton: $('proposal-button'),
    proposalError: $('proposal-error'),
    proposals: $('proposals'),
    proposalsEmpty: $('proposals-empty'),
    adopted: $('adopted-proposals'),
    adoptedPanel: $('adopted-panel'),
  };
  let wanted = PAGE; // posts shown; "Show older posts" asks for more
  let page = null; // {pinned, posts, next_before, you}
  let topics = null; // {open, adopted, you}
  let club = null; // the club page's club (its series and upcoming dates, for adopting)
  let timer = null;
  let source = null;

  const me = () => page?.you ?? topics?.you ?? null;
  const myId = () => you.identity()?.id ?? null;

  async function readPosts() {
    const pinned = [];
    const posts = [];
    let before = null;
    let next = null;
    do {
      const query = new URLSearchParams({ limit: String(Math.min(PAGE_MAX, wanted - posts.length)) });
      if (before !== null) query.set('before', String(before));
      const found = await api('GET', `${clubPath}/posts?${query}`);
      if (before === null) pinned.push(...found.pinned);
      posts.push(...found.posts);
      next = found.next_before;
      before = next;
      page = { ...found, pinned, posts, next_before: next };
    } while (next !== null && posts.length < wanted);
  }

  async function refresh() {
    try {
      await Promise.all([readPosts(), api('GET', `${clubPath}/proposals`).then((found) => { topics = found; })]);
      ui.error.textContent = '';
    } catch (error) {
      ui.error.textContent = `Couldn't load the club's space: ${describeError(error)}`;
      return;
    }
    render();
  }

  function refreshSoon() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      refresh();
      onChange();
    }, REFRESH_DELAY_MS);
  }

  /** Follows the space live; EventSource reconnects by itself, resuming after the last change. */
  function follow() {
    source?.close();
    const token = getToken();
    source = new EventSource(`${clubPath}/live${token ? `?token=${encodeURIComponent(token)}` : ''}`);
    for (const kind of ['change', 'reset']) source.addEventListener(kind, refreshSoon);
  }

  // ---- writing ---------------------------------------------------------------

  async function write(button, errorLine, field, path, body, done) {
    errorLine.textContent = '';
    button.disabled = true;
    try {
      await you.identify();
      if (!source || source.readyState === EventSource.CLOSED) follow();
      await api('POST', path, body);
      field.value = '';
      field.dispatchEvent(new Event('input'));
      done?.();
      await refresh();
    } catch (error) {
      errorLine.textContent = describeError(error, { forbidden: error.message, rate_limited: error.message });
    } finally {
      button.disabled = false;
    }
  }

  async function act(method, path, body) {
    ui.error.textContent = '';
    try {
      await api(method, path, body);
      await refresh();
    } catch (error) {
      ui.error.textContent = describeError(error, { forbidden: error.message });
    }
  }

  ui.postForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.postText.value.trim();
    if (!text) {
      ui.postError.textContent = 'Please write something first.';
      return;
    }
    write(ui.postButton, ui.postError, ui.postText, `${clubPath}/posts`, { text });
  });
  ui.proposalForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.proposalText.value.trim();
    if (!text) {
      ui.proposalError.textContent = 'Please write the topic first.';
      return;
    }
    write(ui.proposalButton, ui.proposalError, ui.proposalText, `${clubPath}/proposals`, { text });
  });
  ui.older.addEventListener('click', () => {
    wanted += PAGE;
    refresh();
  });
  showCharactersLeft(ui.postText, $('post-text-left'));
  showCharactersLeft(ui.proposalText, $('proposal-text-left'));

  // ---- posts -----------------------------------------------------------------

  function createPost() {
    const item = fromTemplate(POST);
    const id = nextId('reply');
    item.querySelector('.post-reply-label').htmlFor = id;
    item.querySelector('.post-reply-text').id = id;
    const path = () => `${clubPath}/posts/${encodeURIComponent(item.dataset.postId)}`;
    item.querySelector('.post-delete').addEventListener('click', () => act('DELETE', path()));
    item.querySelector('.post-pin').addEventListener('click', () => {
      act(item.dataset.pinned === 'true' ? 'DELETE' : 'PUT', `${path()}/pin`);
    });
    item.querySelector('.post-mute').addEventListener('click', () => {
      act('PUT', `${clubPath}/mutes/${encodeURIComponent(item.dataset.authorId)}`);
    });
    const form = item.querySelector('.post-reply-form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const field = item.querySelector('.post-reply-text');
      const errorLine = item.querySelector('.post-reply-error');
      const text = field.value.trim();
      if (!text) {
        errorLine.textContent = 'Please write your reply first.';
        return;
      }
      write(item.querySelector('.post-reply-button'), errorLine, field, `${path()}/replies`, { text });
    });
    return item;
  }

  function updatePost(item, post) {
    const mine = post.by && post.by.id === myId();
    const host = Boolean(me()?.host);
    const writer = Boolean(me()?.member) && !me()?.muted;
    const roundup = post.roundup;
    const what = roundup ? `the round-up of ${roundup.title}` : `${post.by?.name ?? 'someone'}'s post`;
    item.dataset.postId = post.id;
    item.dataset.pinned = String(post.pinned);
    item.dataset.authorId = post.by?.id ?? '';
    item.classList.toggle('roundup', Boolean(roundup));
    item.querySelector('.post-author').textContent = roundup ? `Round-up: ${roundup.title}` : post.by?.name ?? '';
    const time = item.querySelector('.post-time');
    time.dateTime = post.at;
    time.textContent = formatWhen(post.at);
    item.querySelector('.post-pinned').hidden = !post.pinned;
    const text = item.querySelector('.post-text');
    if (text.dataset.shown !== post.text) {
      text.replaceChildren(...withLinks(post.text));
      text.dataset.shown = post.text;
    }
    text.hidden = !post.text;
    const figures = item.querySelector('.post-figures');
    figures.hidden = !roundup;
    const link = item.querySelector('.roundup-link');
    item.querySelector('.post-roundup').hidden = !roundup;
    if (roundup) {
      figures.textContent = roundupFigures(roundup);
      link.href = roundup.url;
      link.setAttribute('aria-label', `See the round-up of ${roundup.title}`);
    }
    const pin = item.querySelector('.post-pin');
    pin.hidden = !host;
    pin.textContent = post.pinned ? 'Unpin' : 'Pin';
    pin.setAttribute('aria-label', `${post.pinned ? 'Unpin' : 'Pin'} ${what}`);
    const mute = item.querySelector('.post-mute');
    mute.hidden = !host || !post.by || mine || isHost(post.by.id);
    if (post.by) mute.textContent = `Mute ${post.by.name}`;
    const remove = item.querySelector('.post-delete');
    remove.hidden = !(host || mine);
    remove.setAttribute('aria-label', `Delete ${what}`);
    const replies = item.querySelector('.post-replies');
    replies.setAttribute('aria-label', `Replies to ${what}`);
    syncChildren(replies, post.replies, (reply) => reply.id, () => createReply(item),
      (row, reply) => updateReply(row, reply, host));
    replies.hidden = post.replies.length === 0;
    item.querySelector('.post-reply-form').hidden = !writer;
    item.querySelector('.post-reply-label').textContent = `Reply to ${what}`;
  }

  function createReply(postItem) {
    const row = fromTemplate(REPLY);
    row.querySelector('.reply-delete').addEventListener('click', () => {
      const post = encodeURIComponent(postItem.dataset.postId);
      act('DELETE', `${clubPath}/posts/${post}/replies/${encodeURIComponent(row.dataset.replyId)}`);
    });
    return row;
  }

  function updateReply(row, reply, host) {
    row.dataset.replyId = reply.id;
    row.querySelector('.reply-author').textContent = reply.by.name;
    const time = row.querySelector('.reply-time');
    time.dateTime = reply.at;
    time.textContent = formatWhen(reply.at);
    const text = row.querySelector('.reply-text');
    if (text.dataset.shown !== reply.text) {
      text.replaceChildren(...withLinks(reply.text));
      text.dataset.shown = reply.text;
    }
    const remove = row.querySelector('.reply-delete');
    remove.hidden = !(host || reply.by.id === myId());
    remove.setAttribute('aria-label', `Delete ${reply.by.name}'s reply`);
  }

  const topicRows = proposalRows({
    clubPath,
    you,
    act,
    state: {
      me,
      myId,
      club: () => club,
      failed: (text) => { ui.error.textContent = text; },
      adopted: async () => {
        await refresh();
        onChange();
      },
    },
  });

  // ---- drawing -------------------------------------------------------------------

  function isHost(id) {
    return (club?.hosts ?? []).some((host) => host.id === id);
  }

  function render() {
    const you_ = me();
    const writer = Boolean(you_?.member) && !you_?.muted;
    ui.postForm.hidden = !writer;
    ui.proposalForm.hidden = !writer;
    ui.note.hidden = writer;
    if (you_?.muted) ui.note.textContent = 'A host has muted you in this space: you can read it, not write in it.';
    else if (club?.visibility === 'private') ui.note.textContent = 'Members of the club can post here.';
    else ui.note.textContent = 'Follow the club to post, reply and propose topics.';
    if (page) {
      syncChildren(ui.pinned, page.pinned, (p) => p.id, createPost, updatePost);
      ui.pinned.hidden = page.pinned.length === 0;
      syncChildren(ui.posts, page.posts, (p) => p.id, createPost, updatePost);
      ui.empty.hidden = page.posts.length + page.pinned.length > 0;
      ui.older.hidden = page.next_before === null;
    }
    if (topics) {
      syncChildren(ui.proposals, topics.open, (p) => p.id, topicRows.create, topicRows.update);
      ui.proposalsEmpty.hidden = topics.open.length > 0;
      syncChildren(ui.adopted, topics.adopted, (p) => p.id, topicRows.create, topicRows.update);
      ui.adoptedPanel.hidden = topics.adopted.length === 0;
    }
  }

  return {
    /** Reads the space and starts following it. */
    async start() {
      await refresh();
      follow();
    },
    /** The club as the page last read it (hosts, upcoming dates). */
    setClub(latest) {
      club = latest;
      render();
    },
    refresh,
  };
}

function roundupFigures(roundup) {
  const parts = [
    `Ended ${formatWhen(roundup.ended_at)}`,
    `${plural(roundup.listeners, 'listener')} (at most ${roundup.peak_listeners} at once)`,
    `${plural(roundup.speakers, 'person', 'people')} on stage`,
    plural(roundup.questions, 'question'),
    plural(roundup.chat_messages, 'chat message'),
  ];
  return parts.join(' · ');
}

function formatWhen(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}
