// Smoke test: the release build in dist/ loads in Chromium, has a title that
// names callflow, and logs no error. Needs `trunk build --release` first.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, launchBrowser, openPage, screenshot, serveDist } from './harness.mjs';

let server;
let browser;

before(async () => {
  assert.ok(existsSync(join(DIST, 'index.html')), 'no dist/index.html: run `trunk build --release`');
  server = await serveDist();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the app loads without errors', async () => {
  const { page, context, errors } = await openPage(browser, server.url);
  await page.waitForLoadState('networkidle');
  await screenshot(page, 'smoke');
  assert.match(await page.title(), /callflow/i);
  assert.deepEqual(errors, []);
  await context.close();
});
