// The room's audio: one <audio> element per receive slot, inside #remote-audio, at the
// chosen volume and on the chosen output device; a "Tap to hear the room" button when the
// browser blocks playback until the person interacts with the page; and the lists of
// microphones and speakers to choose from.

import { remember, remembered, ui } from './room-view.js';

const VOLUME_KEY = 'dropin.volume';
const SPEAKER_KEY = 'dropin.speaker';
export const MIC_KEY = 'dropin.microphone';
const canChooseSpeaker = 'setSinkId' in HTMLMediaElement.prototype;

const audios = () => ui.remoteAudio.querySelectorAll('audio');
const volume = () => Number(ui.volume.value) / 100;

export function playRemoteTrack(event) {
  const key = event.transceiver.mid;
  let audio = ui.remoteAudio.querySelector(`audio[data-mid="${CSS.escape(String(key))}"]`);
  if (!audio) {
    audio = document.createElement('audio');
    audio.autoplay = true;
    audio.dataset.mid = key;
    audio.volume = volume();
    if (ui.speakerChoice.value) audio.setSinkId(ui.speakerChoice.value).catch(() => {});
    ui.remoteAudio.append(audio);
  }
  audio.srcObject = new MediaStream([event.track]);
  play(audio);
}

function play(audio) {
  audio.play().catch((error) => {
    // Blocked until the person interacts with the page (another error is a replaced source).
    if (error.name === 'NotAllowedError') ui.tapToHear.hidden = false;
  });
}

/** Starts the room's audio from a click: the one thing a browser's autoplay block waits for. */
export function startPlayback() {
  ui.tapToHear.hidden = true;
  for (const audio of audios()) play(audio);
}

export function clearRemoteAudio() {
  for (const audio of audios()) audio.srcObject = null;
  ui.remoteAudio.replaceChildren();
  ui.tapToHear.hidden = true;
}

function setVolume() {
  for (const audio of audios()) audio.volume = volume();
  remember(VOLUME_KEY, ui.volume.value);
}

function setSpeaker() {
  for (const audio of audios()) audio.setSinkId(ui.speakerChoice.value).catch(() => {});
  remember(SPEAKER_KEY, ui.speakerChoice.value);
}

/** Fills a device <select>: the system default first, then each device, keeping `chosen`. */
function fillChoice(select, devices, noun, chosen) {
  const options = [new Option('System default', '')];
  devices.forEach((device, index) => options.push(new Option(device.label || `${noun} ${index + 1}`, device.deviceId)));
  select.replaceChildren(...options);
  select.value = devices.some((device) => device.deviceId === chosen) ? chosen : '';
}

/** Lists the microphones and (where the browser can switch output) the speakers; names show once the microphone was allowed. */
export async function showDeviceChoices() {
  let devices = [];
  try {
    devices = (await navigator.mediaDevices?.enumerateDevices()) ?? [];
  } catch {
    // No device list: the choices keep just the system default.
  }
  const ofKind = (kind) => devices.filter((device) => device.kind === kind && device.deviceId && device.deviceId !== 'default');
  fillChoice(ui.micChoice, ofKind('audioinput'), 'Microphone', remembered(MIC_KEY));
  fillChoice(ui.speakerChoice, ofKind('audiooutput'), 'Speaker', remembered(SPEAKER_KEY));
}

ui.volume.value = remembered(VOLUME_KEY) ?? ui.volume.value;
ui.volume.addEventListener('input', setVolume);
ui.speakerField.hidden = !canChooseSpeaker;
ui.speakerChoice.addEventListener('change', setSpeaker);
ui.tapToHear.addEventListener('click', startPlayback);
navigator.mediaDevices?.addEventListener?.('devicechange', showDeviceChoices);
