// RoomState: what one member knows about a room, kept from the `joined` snapshot
// and the room log's events. No DOM and no I/O, so other front ends can reuse it.
//
// Events of the room log carry `seq`; one at or below the seq already held is
// part of the snapshot (or was applied before) and is ignored. Applying returns
// a list of effects: things a page may want to tell the person about.

import { isOnStage } from './permissions.js';

const byRaisedAt = (a, b) => (a.raised_at < b.raised_at ? -1 : a.raised_at > b.raised_at ? 1 : 0);

/** Most votes first, then the oldest first. */
export function byVotes(a, b) {
  if (a.votes !== b.votes) return b.votes - a.votes;
  return a.asked_at < b.asked_at ? -1 : a.asked_at > b.asked_at ? 1 : 0;
}

/** A chat message's number: c12 -> 12 (Infinity for none, so everything held is earlier). */
function chatNumber(message) {
  return message ? Number(message.id.slice(1)) : Infinity;
}

export class RoomState {
  constructor() {
    /** RoomInfo, with `settings`. */
    this.room = null;
    /** You: MemberView + {hand_raised, invitation}. */
    this.you = null;
    /** id -> MemberView of everyone on stage, in the order they came on stage. */
    this.stage = new Map();
    this.audienceCount = 0;
    /** [{id, name}] of listeners, in order of arrival (the first page only). */
    this.audienceNames = [];
    /** Raised hands, oldest first (filled for hosts and moderators only). */
    this.hands = [];
    /** id -> {id, name, invitation} of pending stage invitations (seen by moderators and the invitee). */
    this.invitations = new Map();
    /** ids of the speakers holding a receive slot: on air (the server forwards their audio). */
    this.onAir = new Set();
    /** ids of the members talking right now (the server's voice activity, from `speakers`). */
    this.speaking = new Set();
    /** id -> Question typed for the stage: {id, by: {id, name}, text, votes, answered, asked_at}. */
    this.questions = new Map();
    /** ids of the questions you upvoted. */
    this.yourVotes = new Set();
    /** id -> chat message ({id, by: {id, name}, text, at}), oldest first: the latest page and what
     * came since, and earlier pages as they are asked for. */
    this.chat = new Map();
    /** Whether members may post (moderators always may), and listeners' slow mode in seconds. */
    this.chatState = { enabled: true, slow_s: 0 };
    /** Whether the chat has messages before the first one held. */
    this.chatMore = false;
    /** id -> Quality of a member's connection ({level, down, up, rtt_ms}): every member's for
     * moderators, only your own for anyone else. */
    this.quality = new Map();
    /** The highest room-log seq applied. */
    this.seq = null;
    this._names = new Map(); // id -> last known display name
  }

  get settings() {
    return this.room?.settings ?? {};
  }

  nameOf(id) {
    return this._names.get(id) ?? 'Someone';
  }

  /** Puts an earlier page of chat (oldest first) in front of what is held; `more` if there are
   * older messages still. */
  addEarlierChat(messages, more) {
    this.chat = new Map([...messages.map((message) => [message.id, message]), ...this.chat]);
    this.chatMore = more;
  }

  _setChat(recent, more, resumed) {
    // A resumed visit keeps the earlier pages it had, where they join the snapshot's page.
    const first = chatNumber(recent[0]);
    const kept = resumed ? [...this.chat.values()].filter((message) => chatNumber(message) < first) : [];
    const joins = kept.length > 0 && (first === Infinity || chatNumber(kept.at(-1)) >= first - 1);
    this.chat = new Map([...(joins ? kept : []), ...recent].map((message) => [message.id, message]));
    this.chatMore = joins ? this.chatMore : more;
  }

  /** The questions in the order to show them: most votes first, then the oldest. */
  get sortedQuestions() {
    return [...this.questions.values()].sort(byVotes);
  }

  /** Whether `id` is a listener in the room as far as this member knows (the first page of names). */
  isListener(id) {
    return !this.stage.has(id) && this.audienceNames.some((person) => person.id === id);
  }

  /** Your upvote was accepted (or the server says you had already voted). */
  markVoted(questionId) {
    this.yourVotes = new Set([...this.yourVotes, questionId]);
  }

  /** Listeners to show: the fetched names, less anyone who has gone on stage since. */
  get audience() {
    return this.audienceNames.filter((person) => !this.stage.has(person.id));
  }

  /**
   * Replaces the state with a `joined` reply. On a resumed join the snapshot is the
   * state; the missed events only produce effects (and carry pending invitations over).
   */
  applySnapshot(joined) {
    const previousInvitations = this.invitations;
    this.room = { ...joined.room, recording: Boolean(joined.recording) };
    this.seq = joined.seq;
    this.you = { hand_raised: false, invitation: null, muted: false, muted_by: null, ...joined.you };
    this.stage = new Map(joined.stage.map((member) => [member.id, member]));
    this.audienceCount = joined.audience?.count ?? 0;
    this.audienceNames = joined.audience?.names ?? [];
    this.hands = [...(joined.hands ?? [])].sort(byRaisedAt);
    this.questions = new Map((joined.questions ?? []).map((question) => [question.id, question]));
    this.yourVotes = new Set(joined.your_votes ?? []);
    this.chatState = joined.chat ?? { enabled: true, slow_s: 0 };
    this._setChat(joined.chat_recent ?? [], Boolean(joined.chat_more), joined.resumed);
    this.quality = new Map(Object.entries(joined.quality ?? {}));
    this._setSpeakers(joined.speaking, joined.slot_holders);
    this._remember(this.you, ...this.stage.values(), ...this.audienceNames, ...this.hands);
    if (joined.room?.host) this._remember(joined.room.host);

    // The snapshot lists no invitations but yours; moderators carry theirs over a resume.
    this.invitations = new Map();
    const effects = [];
    if (joined.resumed) {
      for (const [id, pending] of previousInvitations) this.invitations.set(id, pending);
      for (const event of joined.missed ?? []) effects.push(...this._missedEffects(event));
    }
    for (const id of [...this.invitations.keys()]) {
      if (this.stage.has(id)) this.invitations.delete(id);
    }
    if (this.you.invitation) this._invite(this.you.id, this.you.invitation);
    effects.push({ kind: 'audience' });
    return effects;
  }

  /** Applies one event (room log, `audience`, `speakers`, `hands` or `quality`); returns its effects. */
  applyEvent(event) {
    if (event.seq != null) {
      if (this.seq != null && event.seq <= this.seq) return [];
      this.seq = event.seq;
    }
    const handler = this[`_on_${event.type}`];
    return handler ? handler.call(this, event) ?? [] : [];
  }

  /** The audience page fetched over REST: {count, members}. */
  setAudience({ count, members }) {
    this.audienceCount = count;
    this.audienceNames = members;
    this._remember(...members);
  }

  /** A local change to you that the server has confirmed (or that its event will confirm). */
  updateYou(fields) {
    this.you = { ...this.you, ...fields };
    this._placeMember(this._viewOf(this.you));
  }

  // ---- events ----------------------------------------------------------

  /** The whole hand queue, sent when you become host or moderator. */
  _on_hands({ hands }) {
    this.hands = [...hands].sort(byRaisedAt);
    this._remember(...hands);
    return [];
  }

  _on_member_joined({ member }) {
    this._placeMember(member);
    return [];
  }

  _on_member_left({ id }) {
    this._forget(id);
    return [];
  }

  _on_member_updated({ member }) {
    this._placeMember(member);
    return [];
  }

  _on_hand_raised({ hand }) {
    this._remember(hand);
    this.hands = [...this.hands.filter((h) => h.id !== hand.id), hand].sort(byRaisedAt);
    if (hand.id === this.you?.id) this.you = { ...this.you, hand_raised: true };
    return [];
  }

  _on_hand_lowered({ id, reason }) {
    this.hands = this.hands.filter((hand) => hand.id !== id);
    if (id !== this.you?.id) return [];
    this.you = { ...this.you, hand_raised: false };
    return reason === 'dismissed' ? [{ kind: 'hand_dismissed' }] : [];
  }

  _on_invited({ id, invitation }) {
    this._invite(id, invitation);
    if (id !== this.you?.id) return [];
    this.you = { ...this.you, invitation };
    return [{ kind: 'invited', invitation }];
  }

  _on_invite_ended({ id, outcome }) {
    this.invitations.delete(id);
    if (id !== this.you?.id) return [];
    this.you = { ...this.you, invitation: null };
    return [{ kind: 'invite_ended', outcome }];
  }

  _on_member_removed({ id, banned_until = null, banned_for_room = false }) {
    if (id === this.you?.id) return [{ kind: 'removed', banned_until, banned_for_room }];
    this._forget(id);
    this.audienceNames = this.audienceNames.filter((person) => person.id !== id);
    return [];
  }

  _on_question_asked({ question }) {
    this.questions.set(question.id, question);
    this._remember(question.by);
    return [{ kind: 'question_asked', question }];
  }

  _on_question_updated({ question }) {
    this.questions.set(question.id, question);
    return [];
  }

  _on_chat_posted({ message }) {
    this.chat.set(message.id, message);
    this._remember(message.by);
    return [{ kind: 'chat_posted', message }];
  }

  _on_chat_deleted({ id }) {
    this.chat.delete(id);
    return [];
  }

  _on_chat_hidden({ id }) {
    this.chat = new Map([...this.chat].filter(([, message]) => message.by.id !== id));
    return [];
  }

  _on_recording_changed({ recording }) {
    this.room = { ...this.room, recording };
    return [];
  }

  _on_chat_changed({ chat }) {
    this.chatState = chat;
    return [{ kind: 'chat_changed', chat }];
  }

  _on_reactions({ counts }) {
    return [{ kind: 'reactions', counts }];
  }

  _on_host_changed({ host }) {
    this._remember(host);
    this.room = { ...this.room, host };
    return [{ kind: 'host_changed', host }];
  }

  /** Everyone's connection, sent when you become a moderator. */
  _on_quality({ quality }) {
    this.quality = new Map(Object.entries(quality));
    return [];
  }

  _on_quality_changed({ id, quality }) {
    this.quality.set(id, quality);
    return [];
  }

  _on_room_ended() {
    return [{ kind: 'ended' }];
  }

  _on_audience({ count }) {
    this.audienceCount = count;
    return [{ kind: 'audience' }];
  }

  /** Who is talking and who is on air; sent at most every 300 ms or so, when either changed. */
  _on_speakers({ speaking, slots }) {
    this._setSpeakers(speaking, slots);
    return [];
  }

  // ---- helpers ---------------------------------------------------------

  /** Effects worth telling about from an event missed while disconnected. */
  _missedEffects(event) {
    const mine = event.id === this.you.id;
    switch (event.type) {
      case 'host_changed':
        return [{ kind: 'host_changed', host: event.host }];
      case 'hand_lowered':
        return mine && event.reason === 'dismissed' ? [{ kind: 'hand_dismissed' }] : [];
      case 'invited':
        this._invite(event.id, event.invitation);
        return [];
      case 'invite_ended':
        this.invitations.delete(event.id);
        return mine ? [{ kind: 'invite_ended', outcome: event.outcome }] : [];
      case 'member_removed':
      case 'member_left':
        this.invitations.delete(event.id);
        return [];
      default:
        return [];
    }
  }

  /** Puts a member where their role says: on stage, or (as a listener) in the audience. */
  _placeMember(member) {
    this._remember(member);
    if (member.id === this.you?.id) {
      this.you = { ...this.you, ...member };
      if (isOnStage(member.role)) this.you = { ...this.you, hand_raised: false, invitation: null };
    }
    if (isOnStage(member.role)) {
      // Map.set keeps an existing member's place on stage.
      this.stage.set(member.id, { ...this.stage.get(member.id), ...member });
      this.hands = this.hands.filter((hand) => hand.id !== member.id);
      this.invitations.delete(member.id);
      return;
    }
    this.stage.delete(member.id);
    if (!this.audienceNames.some((person) => person.id === member.id)) {
      this.audienceNames = [...this.audienceNames, { id: member.id, name: member.name }];
    }
  }

  _forget(id) {
    this.stage.delete(id);
    this.quality.delete(id);
    this.hands = this.hands.filter((hand) => hand.id !== id);
    this.invitations.delete(id);
  }

  _invite(id, invitation) {
    this.invitations.set(id, { id, name: this.nameOf(id), invitation });
  }

  /** Who is talking (member ids) and who holds which slot ([{slot, speaker: {id, name} | null}]). */
  _setSpeakers(speaking, slots) {
    this.onAir = new Set((slots ?? []).filter((slot) => slot.speaker).map((slot) => slot.speaker.id));
    this.speaking = new Set(speaking ?? []);
  }

  _viewOf(you) {
    const { id, name, role, muted, muted_by: mutedBy } = you;
    return { id, name, role, muted, muted_by: mutedBy };
  }

  _remember(...people) {
    for (const person of people) {
      if (person?.id && person.name) this._names.set(person.id, person.name);
    }
  }
}
