// Helpers for callflow's end-to-end tests (run with `node --test e2e/`):
// a static server for the built dist/ on 127.0.0.1, a headless Chromium from
// /usr/bin driven by playwright-core, and a page that records every error.

import { createServer } from 'node:http';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
// CALLFLOW_DIST points the tests at another build (default: the repo's dist/).
export const DIST = resolve(process.env.CALLFLOW_DIST ?? join(ROOT, 'dist'));
export const SCREENSHOTS = join(ROOT, 'e2e', 'screenshots');

// The same flags as webdriver.json; see /work/shared/toolchain.md.
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

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Maps a request path to a file under `root`, or null if it escapes it. */
function fileFor(root, urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  const file = resolve(root, '.' + normalize('/' + path));
  return file === root || file.startsWith(root + sep) ? file : null;
}

/**
 * Serves `dir` (default: the repo's dist/) on 127.0.0.1 at a free port.
 * Returns { url, close } where url ends in '/'.
 */
export async function serveDist(dir = DIST) {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    let file = fileFor(root, req.url ?? '/');
    try {
      if (file === null) throw new Error('outside root');
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

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
  { width = 1280, height = 800, colorScheme = 'light', reducedMotion = 'no-preference' } = {},
) {
  const context = await browser.newContext({
    viewport: { width, height },
    colorScheme,
    reducedMotion,
  });
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

/** Saves a full-page screenshot as e2e/screenshots/<name>.png; returns the path. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
