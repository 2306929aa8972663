// Drives one Firefox ESR page for the end-to-end tests (tests/e2e/test_firefox.py).
//
//   node tests/firefox/driver.mjs
//
// Launches Debian's Firefox ESR headless over WebDriver BiDi (puppeteer-core) with a fake
// microphone that needs no permission prompt and audio allowed to play, opens one page, and
// then reads one JSON command a line on stdin and answers one JSON line on stdout:
//
//   {"id": 1, "do": "goto", "url": "http://127.0.0.1:8000/"}
//   {"id": 2, "do": "click", "selector": "::-p-aria([name=\"Join room\"][role=\"button\"])"}
//   {"id": 3, "do": "fill", "selector": "#name", "value": "Bo"}
//   {"id": 4, "do": "wait", "selector": "::-p-text(Live)", "hidden": false, "timeout_ms": 5000}
//   {"id": 5, "do": "evaluate", "function": "async (a) => a + 1", "args": [1]}
//   {"id": 6, "do": "visible", "selector": "#mute-button"}      (now, without waiting: true or false)
//   {"id": 7, "do": "init_script", "source": "window.x = 1;"}   (runs in every document from the next one)
//   {"id": 8, "do": "url"}
//   {"id": 9, "do": "page_errors"}                            (uncaught errors in the current document)
//   {"id": 10, "do": "close"}
//
// Answers: {"id": 1, "ok": true, "value": ...} or {"id": 1, "ok": false, "error": "..."}.
// The first line out is {"ready": true, "browser": "<version>"} once Firefox is up.
// Selectors are Puppeteer's: CSS, ::-p-aria(...) (accessible name and role), ::-p-text(...).
// Clicks and fills go through Puppeteer locators: they wait for the element to be visible,
// enabled and still, as a person would.

import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const FIREFOX = process.env.DROPIN_FIREFOX ?? '/usr/bin/firefox-esr';
const PREFS = {
  // A fake microphone (a tone), granted without a prompt.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Audio may play without a gesture: a person's click on "Join room" is one, a script's is not.
  'media.autoplay.default': 0,
  'media.autoplay.block-webaudio': false,
};
const DEFAULT_TIMEOUT_MS = 10_000;

function answer(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: FIREFOX,
  headless: true,
  extraPrefsFirefox: PREFS,
});
const page = (await browser.pages())[0] ?? (await browser.newPage());
page.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
// Uncaught errors and unhandled rejections in the page's current document.
await page.evaluateOnNewDocument(`
  window.__pageErrors = [];
  window.addEventListener('error', (event) => window.__pageErrors.push(String(event.message)));
  window.addEventListener('unhandledrejection', (event) => window.__pageErrors.push(String(event.reason)));
`);

async function shutDown(code) {
  await browser.close().catch(() => {});
  process.exit(code);
}
process.on('SIGTERM', () => shutDown(143));

const commands = {
  async goto({ url }) {
    await page.goto(url, { waitUntil: 'load' });
  },
  async url() {
    return page.url();
  },
  async click({ selector, timeout_ms }) {
    await page.locator(selector).setTimeout(timeout_ms ?? DEFAULT_TIMEOUT_MS).click();
  },
  async fill({ selector, value, timeout_ms }) {
    await page.locator(selector).setTimeout(timeout_ms ?? DEFAULT_TIMEOUT_MS).fill(value);
  },
  async wait({ selector, hidden = false, timeout_ms }) {
    const options = { timeout: timeout_ms ?? DEFAULT_TIMEOUT_MS, ...(hidden ? { hidden: true } : { visible: true }) };
    await page.waitForSelector(selector, options);
  },
  async visible({ selector }) {
    // Now, without waiting: is there such an element that a person can see?
    for (const element of await page.$$(selector)) {
      if (await element.isVisible()) return true;
    }
    return false;
  },
  async evaluate({ function: source, args = [] }) {
    // The function is called in the page with the JSON arguments (as a WebDriver BiDi script,
    // which the page's Content-Security-Policy does not restrict); a promise is awaited.
    return page.evaluate(`(${source})(...${JSON.stringify(args)})`);
  },
  async init_script({ source }) {
    await page.evaluateOnNewDocument(source);
  },
  async page_errors() {
    return page.evaluate(() => window.__pageErrors ?? []);
  },
};

answer({ ready: true, browser: await browser.version() });

const lines = readline.createInterface({ input: process.stdin, terminal: false });
// One command at a time, in order: the test says what a person does, step by step.
for await (const line of lines) {
  if (!line.trim()) continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    answer({ id: null, ok: false, error: `not JSON: ${error.message}` });
    continue;
  }
  const { id, do: command, ...fields } = request;
  if (command === 'close') {
    answer({ id, ok: true, value: null });
    await shutDown(0);
  }
  const run = commands[command];
  if (!run) {
    answer({ id, ok: false, error: `unknown command ${JSON.stringify(command)}` });
    continue;
  }
  try {
    const value = await run(fields);
    answer({ id, ok: true, value: value ?? null });
  } catch (error) {
    answer({ id, ok: false, error: `${command}: ${error?.message ?? error}` });
  }
}
// stdin closed: the test is done with this browser.
await shutDown(0);
