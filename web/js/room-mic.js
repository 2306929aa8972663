// The microphone: live while on stage (enabled unless muted) or while you test it, stopped
// otherwise. It goes on the first transceiver with replaceTrack, so neither role changes nor
// a new device choice renegotiate. A level meter shows it is picking you up.

import { isOnStage } from './permissions.js';
import { MIC_KEY, showDeviceChoices } from './room-audio.js';
import { micMuted, renderYou } from './room-render.js';
import { remember, remembered, setError, ui } from './room-view.js';

const PROCESSING = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const METER_MS = 100;
const METER_FLOOR_DB = -60; // shown as an empty meter

/** Whether the page needs the microphone: on stage, or testing it. */
const micWanted = (s) => isOnStage(s.state.you?.role) || Boolean(s.echo);

async function microphone(audio) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio });
  return stream.getAudioTracks()[0];
}

/** The chosen microphone, or the system default when none is chosen or it is gone. */
async function openMic() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('this page needs HTTPS to use the microphone.');
  }
  const deviceId = remembered(MIC_KEY);
  if (deviceId) {
    try {
      return await microphone({ ...PROCESSING, deviceId: { exact: deviceId } });
    } catch (error) {
      if (error.name !== 'OverconstrainedError' && error.name !== 'NotFoundError') throw error;
    }
  }
  return microphone(PROCESSING);
}

/** Makes the mic follow the state: live when wanted (enabled unless muted), stopped otherwise. Resolves once a starting mic is open. */
export function syncMic(s) {
  if (s.closed || !s.state.you) return;
  if (!micWanted(s)) {
    stopMic(s);
    return;
  }
  if (!s.mic) return startMic(s);
  s.mic.enabled = !micMuted(s);
  attachMic(s);
  renderYou(s);
}

/** Opens the chosen microphone; a running one is replaced (a new device choice). */
async function startMic(s) {
  if (s.micStarting) return;
  s.micStarting = true;
  let track = null;
  try {
    track = await openMic();
  } catch (error) {
    if (!s.closed) setError(`Microphone blocked: ${error.message}`);
  } finally {
    s.micStarting = false;
  }
  if (!track) return;
  if (s.closed || !micWanted(s)) {
    track.stop();
    return;
  }
  s.mic?.stop();
  s.mic = track;
  startMeter(s);
  showDeviceChoices(); // Devices have names once the microphone is allowed.
  syncMic(s);
}

/** A microphone picked from the list: remembered, and swapped in at once if live. */
export function chooseMic(s) {
  remember(MIC_KEY, ui.micChoice.value);
  if (s?.mic) startMic(s);
}

/** Puts the mic on the current connection's first transceiver (no renegotiation). */
export function attachMic(s) {
  const conn = s.conn;
  if (!conn?.mediaReady || conn.dead || conn.sentTrack === s.mic) return;
  conn.sentTrack = s.mic;
  conn.micTransceiver.sender.replaceTrack(s.mic).catch((error) => {
    if (!s.closed && !conn.dead) setError(`Couldn't send your microphone: ${error.message}`);
  });
}

function stopMic(s) {
  s.selfMuted = false;
  releaseMic(s);
  const conn = s.conn;
  if (conn?.mediaReady && !conn.dead && conn.sentTrack) {
    conn.sentTrack = null;
    conn.micTransceiver.sender.replaceTrack(null).catch(() => {});
  }
  renderYou(s);
}

/** Lets the microphone (and its meter) go. */
export function releaseMic(s) {
  stopMeter(s);
  s.mic?.stop();
  s.mic = null;
}

/** The level meter reads a copy of the track: a muted track carries only silence. */
function startMeter(s) {
  stopMeter(s);
  const copy = s.mic.clone();
  copy.enabled = true;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(new MediaStream([copy])).connect(analyser);
  context.resume().catch(() => {});
  const samples = new Float32Array(analyser.fftSize);
  let level = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    const power = samples.reduce((sum, sample) => sum + sample * sample, 0) / samples.length;
    const db = 10 * Math.log10(power || 1e-12);
    // Rise at once, fall gently, so a word stays visible for a moment.
    level = Math.max(Math.min(1, Math.max(0, 1 - db / METER_FLOOR_DB)), level * 0.85);
    ui.micLevel.value = level;
  }, METER_MS);
  s.meter = { copy, context, timer };
  ui.micCheck.hidden = false;
}

function stopMeter(s) {
  if (!s.meter) return;
  clearInterval(s.meter.timer);
  s.meter.copy.stop();
  s.meter.context.close().catch(() => {});
  s.meter = null;
  ui.micCheck.hidden = true;
  ui.micLevel.value = 0;
}
