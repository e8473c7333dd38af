// Helpers for callflow's end-to-end tests (run with `node --test e2e/`):
// a static server for the built dist/ on 127.0.0.1, a headless Chromium from
// /usr/bin driven by playwright-core, and a page that records every error.

import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { serveDir } from '../scripts/serve.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
// CALLFLOW_DIST points the tests at another build (default: the repo's dist/).
export const DIST = resolve(process.env.CALLFLOW_DIST ?? join(ROOT, 'dist'));
/** Serves `dir` (default: the repo's dist/) on 127.0.0.1 at a free port; returns { url, close }. */
export const serveDist = (dir = DIST) => serveDir(dir, 0);

export const SCREENSHOTS = join(ROOT, 'e2e', 'screenshots');

// The same flags as webdriver.json; docs/toolchain.md says why.
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches the system Chromium headless. Close it with `browser.close()`. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Opens `url` in a fresh context of `browser`. Returns { page, context, errors }:
 * `errors` collects console errors, uncaught page errors and failed requests
 * from the moment the page is created, so a test can assert it stays empty.
 */
export async function openPage(
  browser,
  url,
  {
    width = 1280,
    height = 800,
    colorScheme = 'light',
    reducedMotion = 'no-preference',
    fakeClock = false,
  } = {},
) {
  const context = await browser.newContext({
    viewport: { width, height },
    colorScheme,
    reducedMotion,
  });
  // A fake clock runs timers and animation frames only when the test says so.
  if (fakeClock) await context.clock.install();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url;
    errors.push(`console: ${msg.text()}${where ? ` (${where})` : ''}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) =>
    errors.push(`request failed: ${req.url()} (${req.failure()?.errorText})`),
  );
  await page.goto(url, { waitUntil: 'load' });
  return { page, context, errors };
}

/**
 * Serves dist/ and launches Chromium before a test file's tests, and closes both after them.
 * Returns { server, browser }, filled in once the tests start.
 */
export function useApp() {
  const app = {};
  before(async () => {
    app.server = await serveDist();
    app.browser = await launchBrowser();
  });
  after(async () => {
    await app.browser?.close();
    await app.server?.close();
  });
  return app;
}

/** Clicks `button` and returns the file it downloads: { name, text }. */
export async function download(page, button) {
  const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
  return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') };
}

/** Saves a full-page screenshot as e2e/screenshots/<name>.png; returns the path. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

// Some tests need more than dist/ at the root: a fixture page beside a copy of the app in a
// folder, a build served under a sub-path, a library from node_modules.
export { serveMounts } from '../scripts/serve.mjs';
