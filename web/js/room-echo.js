// "Test my microphone": for a few seconds the server plays your own microphone back to you
// alone (the `echo` request, on the slot its reply names), so you hear how you sound. The
// room never hears it; the microphone goes again afterwards unless you are on stage.

import { describeError } from './errors.js';
import { startPlayback } from './room-audio.js';
import { syncMic } from './room-mic.js';
import { act, once } from './room-visit.js';
import { ui } from './room-view.js';

const ECHO_SECONDS = 10;
const PHRASES = {
  rate_limited: 'You can test your microphone once every 30 seconds. Please wait a little, then try again.',
  no_offer: "Your audio isn't connected yet. Please try again in a moment.",
};

export function testMic() {
  return once('echo', async (s) => {
    startPlayback(); // This click also lets a blocked page play the echo.
    ui.echoButton.disabled = true;
    s.echo = { timer: null };
    try {
      ui.echoStatus.textContent = 'Starting your microphone…';
      await syncMic(s);
      if (!s.mic) {
        ui.echoStatus.textContent = "Couldn't start your microphone.";
        return;
      }
      const { reply, error } = await act(s, 'echo', { seconds: ECHO_SECONDS }, { silent: true });
      if (error) {
        ui.echoStatus.textContent = describeError(error, PHRASES);
        return;
      }
      ui.echoStatus.textContent = 'Say something: you hear yourself back. Nobody else does.';
      await countDown(s, reply.seconds);
      ui.echoStatus.textContent = 'Test finished. If you heard yourself, your microphone works.';
    } finally {
      clearTimeout(s.echo.timer);
      s.echo = null;
      ui.echoCountdown.textContent = '';
      ui.echoButton.disabled = false;
      syncMic(s);
    }
  });
}

function countDown(s, seconds) {
  return new Promise((resolve) => {
    const tick = (left) => {
      ui.echoCountdown.textContent = `${left} s left`;
      if (left <= 0 || s.closed) resolve();
      else s.echo.timer = setTimeout(() => tick(left - 1), 1_000);
    };
    tick(seconds);
  });
}
