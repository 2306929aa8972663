// The room page's elements and its small view helpers: which view shows, the status line,
// errors and passing notes. Every room-*.js module shows things through these.

import { $ } from './dom.js';
import { ActionMenu } from './menu.js';

const NOTE_MS = 10_000;
const VIEWS = ['missing-view', 'ended-view', 'join-view', 'disconnected-view', 'room-view'];

export const ui = {
  title: $('room-title'),
  description: $('room-description'),
  host: $('room-host'),
  status: $('status'),
  note: $('note'),
  error: $('error'),
  joinForm: $('join-form'),
  name: $('name'),
  joinButton: $('join-button'),
  rejoinButton: $('rejoin-button'),
  disconnectedText: $('disconnected-text'),
  youName: $('you-name'),
  youRole: $('you-role'),
  live: $('live-indicator'),
  moderatorMuted: $('moderator-muted'),
  mute: $('mute-button'),
  hand: $('hand-button'),
  leaveStage: $('leave-stage-button'),
  muteAll: $('mute-all-button'),
  leave: $('leave-button'),
  end: $('end-button'),
  hostPanel: $('host-panel'),
  recordingNotice: $('recording-notice'),
  record: $('record-button'),

  endDialog: $('end-dialog'),
  handsPanel: $('hands-panel'),
  handsList: $('hands-list'),
  handsEmpty: $('hands-empty'),
  stage: $('stage-list'),
  stageEmpty: $('stage-empty'),
  audienceCount: $('audience-count'),
  audienceList: $('audience-list'),
  audienceMore: $('audience-more'),
  inviteDialog: $('invite-dialog'),
  inviteText: $('invite-text'),
  inviteAccept: $('invite-accept'),
  inviteDecline: $('invite-decline'),
  inviteError: $('invite-error'),
  removeDialog: $('remove-dialog'),
  removeForm: $('remove-form'),
  removeHeading: $('remove-heading'),
  removeCancel: $('remove-cancel'),
  remoteAudio: $('remote-audio'),
  eventInfo: $('room-event'),
  eventLink: $('room-event-link'),
  roundupLink: $('roundup-link'),
  askForm: $('ask-form'),
  question: $('question-text'),
  questionLeft: $('question-left'),
  askButton: $('ask-button'),
  askError: $('ask-error'),
  questionsList: $('questions-list'),
  questionsEmpty: $('questions-empty'),
  reactionButtons: document.querySelectorAll('[data-reaction]'),
  reactionsShown: $('reactions-shown'),
  chatList: $('chat-list'),
  chatEmpty: $('chat-empty'),
  chatEarlier: $('chat-earlier'),
  chatStatus: $('chat-status'),
  chatForm: $('chat-form'),
  chatText: $('chat-text'),
  chatLeft: $('chat-left'),
  chatSend: $('chat-send'),
  chatError: $('chat-error'),
  chatSettings: $('chat-settings'),
  chatEnabled: $('chat-enabled'),
  chatSlow: $('chat-slow'),
  unreachable: $('unreachable'),
  tapToHear: $('tap-to-hear'),
  hardToHear: $('hard-to-hear'),
  micCheck: $('mic-check'),
  micLevel: $('mic-level'),
  micHint: $('mic-hint'),
  volume: $('volume'),
  speakerField: $('speaker-field'),
  speakerChoice: $('speaker-choice'),
  micChoice: $('mic-choice'),
  echoButton: $('echo-button'),
  echoStatus: $('echo-status'),
  echoCountdown: $('echo-countdown'),
  retryAudio: $('retry-audio'),
};

export const roomId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
export const roomPath = `/api/rooms/${encodeURIComponent(roomId)}`;
/** The one per-member action menu of the page. */
export const menu = new ActionMenu();

export function showView(id) {
  for (const view of VIEWS) $(view).hidden = view !== id;
}

export function setStatus(text) {
  ui.status.textContent = text;
}

export function setError(text) {
  ui.error.textContent = text;
}

let noteTimer = null;

/** A short, passing remark ("Ada is now the host."), announced politely. */
export function note(text) {
  clearTimeout(noteTimer);
  ui.note.textContent = text;
  if (text) noteTimer = setTimeout(() => { ui.note.textContent = ''; }, NOTE_MS);
}

export function formatTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  const sameDay = when.toDateString() === new Date().toDateString();
  return sameDay
    ? when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : when.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** A setting this browser remembers (localStorage may be off: then nothing is remembered). */
export function remembered(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not remembered; the choice still holds for this page.
  }
}
