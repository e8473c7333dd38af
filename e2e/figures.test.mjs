// The three figures in a real Chromium, driven through their controls, against the release
// build. Figures start paused under reduced motion, so most tests walk the run with Step and
// assert exactly what each event shows; one test plays in real time.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, screenshot, useApp } from './harness.mjs';

const app = useApp();

/** Opens the page paused (reduced motion) unless told otherwise. */
async function open(options = {}) {
  const opened = await openPage(app.browser, app.server.url, { reducedMotion: 'reduce', ...options });
  await opened.page.waitForSelector('[data-figure=hybrid] [data-test=diagram]');
  return opened;
}

const fig = (page, slug) => page.locator(`[data-figure=${slug}]`);
const nodeClass = (page, slug, id) => fig(page, slug).locator(`[data-node=${id}]`).getAttribute('class');
const tokens = (page, slug, kind) => fig(page, slug).locator(`[data-token=${kind}]`).count();
const nodeState = (page, slug, id) =>
  fig(page, slug).locator(`[data-node=${id}] [data-test=node-state]`).textContent();
const narration = (page, slug) => fig(page, slug).locator('.narration').textContent();
const status = (page, slug) => fig(page, slug).locator('[data-test=status]').textContent();
const press = (page, slug, what) => fig(page, slug).locator(`[data-test=${what}]`).click();

/** Moves a figure's speed slider to `exponent` (log10 of the speed), as dragging it would. */
const setSpeed = (page, slug, exponent) =>
  fig(page, slug)
    .locator('[data-test=speed]')
    .evaluate((el, v) => {
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, String(exponent));

/** Types `text` into a settings field and presses Enter. */
async function type(field, text) {
  await field.fill(text);
  await field.press('Enter');
}

/** The simulated time in a status line, in milliseconds. */
function simulatedMs(text) {
  const [, value, unit] = /Simulated time ([\d.]+) (µs|ms|s)/.exec(text);
  return Number(value) * { µs: 0.001, ms: 1, s: 1000 }[unit];
}

/** Resolves after the page has painted `n` more animation frames. */
const frames = (page, n) =>
  page.evaluate(
    (n) =>
      new Promise((done) => {
        const next = (k) => (k === 0 ? done() : requestAnimationFrame(() => next(k - 1)));
        next(n);
      }),
    n,
  );

async function stepUntil(page, slug, check, limit = 60) {
  for (let i = 0; i < limit; i++) {
    if (await check()) return i;
    await press(page, slug, 'step');
  }
  assert.fail(`no step of ${slug} reached the state within ${limit} events`);
}

describe('figure 1: request/response', () => {
  test('A is marked waiting while the request or the response is in flight, and not after', async () => {
    const { page, errors, context } = await open();
    assert.match(await nodeClass(page, 'sync', 'a'), /waiting/);
    assert.equal(await tokens(page, 'sync', 'request'), 1);
    assert.match(await nodeState(page, 'sync', 'a'), /^waiting for B · 0 ms$/);

    await press(page, 'sync', 'step'); // the request reaches B
    assert.equal(await tokens(page, 'sync', 'request'), 0);
    assert.match(await nodeClass(page, 'sync', 'a'), /waiting/);
    assert.match(await nodeClass(page, 'sync', 'b'), /working/);
    assert.match(await nodeState(page, 'sync', 'a'), /^waiting for B · 60 ms$/);

    await press(page, 'sync', 'step'); // B is done and answers
    assert.equal(await tokens(page, 'sync', 'response'), 1);
    assert.match(await nodeClass(page, 'sync', 'a'), /waiting/);
    assert.match(await nodeState(page, 'sync', 'a'), /460 ms/);

    await press(page, 'sync', 'step'); // the response reaches A
    assert.equal(await tokens(page, 'sync', 'response'), 0);
    assert.doesNotMatch(await nodeClass(page, 'sync', 'a'), /waiting/);
    assert.match(await narration(page, 'sync'), /A got its response after waiting 520 ms/);
    assert.match(await status(page, 'sync'), /last wait 520 ms|A working/);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a slower B makes A wait longer', async () => {
    const { page, errors, context } = await open();
    await press(page, 'sync', 'reset');
    const b = fig(page, 'sync').locator('input[type=text]').nth(2);
    await type(b, '2000');
    assert.match(await fig(page, 'sync').locator('[data-test=notice]').textContent(), /Processing now 2\.000 s/);
    await press(page, 'sync', 'act');
    await stepUntil(page, 'sync', async () => /A got its response/.test(await narration(page, 'sync')));
    assert.match(await narration(page, 'sync'), /after waiting 2\.120 s/);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('figure 2: broker', () => {
  test('the publisher is never blocked and messages wait in the queue', async () => {
    const { page, errors, context } = await open();
    for (let i = 0; i < 3; i++) await press(page, 'async', 'act');
    let maxWaiting = 0;
    for (let i = 0; i < 40; i++) {
      assert.doesNotMatch(await nodeClass(page, 'async', 'a'), /waiting/, `A blocked at step ${i}`);
      const text = await fig(page, 'async').locator('[data-test=queue] .queue-count').textContent();
      const waiting = Number(/(\d+) waiting/.exec(text)[1]);
      maxWaiting = Math.max(maxWaiting, waiting);
      assert.equal(await fig(page, 'async').locator('.slot.filled').count(), Math.min(waiting, 6));
      await press(page, 'async', 'step');
    }
    assert.ok(maxWaiting >= 2, `the queue held ${maxWaiting} at most`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('the confirm comes from the broker and says nothing of the consumer', async () => {
    const { page, errors, context } = await open();
    await stepUntil(page, 'async', async () => (await tokens(page, 'async', 'confirm')) === 1);
    assert.match(await narration(page, 'async'), /stored the message .* confirmed to A that it has the message; a confirm says nothing about any consumer/);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('figure 3: hybrid', () => {
  test('A is answered before slow C is done, and B says it did not wait for C', async () => {
    const { page, errors, context } = await open();
    await press(page, 'hybrid', 'reset');
    const c = fig(page, 'hybrid').locator('input[type=text]').nth(5);
    await type(c, '5000');
    await press(page, 'hybrid', 'act');
    await stepUntil(page, 'hybrid', async () =>
      /answered A without waiting for C/.test(await narration(page, 'hybrid')),
    );
    await stepUntil(page, 'hybrid', async () => !/waiting/.test(await nodeClass(page, 'hybrid', 'a')));
    assert.match(await narration(page, 'hybrid'), /A got its response after waiting 370 ms/);
    await stepUntil(page, 'hybrid', async () => /working/.test(await nodeClass(page, 'hybrid', 'c')));
    assert.match(await nodeState(page, 'hybrid', 'c'), /working · \d\.\d{3} s left/);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('playing in real time', () => {
  test('play advances the clock, an exchange completes, and pause stops at once', async () => {
    const { page, errors, context } = await open({ reducedMotion: 'no-preference' });
    assert.equal(await fig(page, 'sync').locator('[data-test=play]').getAttribute('data-playing'), 'true');
    // Speed ×10: the 520 ms exchange takes about 52 ms of wall time.
    await setSpeed(page, 'sync', 1);
    assert.equal(await fig(page, 'sync').locator('[data-test=speed-value]').textContent(), '×10');
    await page.waitForFunction(() =>
      /last wait 520 ms/.test(document.querySelector('[data-figure=sync] [data-test=status]').textContent),
    );

    await press(page, 'sync', 'play'); // pause
    const paused = await status(page, 'sync');
    await frames(page, 5);
    assert.equal(await status(page, 'sync'), paused, 'the clock stands still while paused');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a long gap between frames, as after a hidden tab, counts as one short frame', async () => {
    const { page, errors, context } = await open({ reducedMotion: 'no-preference', fakeClock: true });
    await page.clock.pauseAt(Date.now() + 1000);
    await setSpeed(page, 'sync', 0); // ×1
    await page.clock.runFor(50);
    const before = simulatedMs(await status(page, 'sync'));
    await page.clock.fastForward(60_000); // a minute away
    await page.clock.runFor(20);
    const after = simulatedMs(await status(page, 'sync'));
    assert.ok(after - before <= 100 + 40, `the clock jumped ${after - before} ms`);
    assert.ok(after > before, 'and it still moves');
    assert.match(await nodeClass(page, 'sync', 'a'), /waiting/, 'the exchange is not skipped');
    await page.clock.runFor(1000);
    assert.match(await status(page, 'sync'), /last wait 520 ms/, 'and then plays out in order');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a figure out of view waits, and plays once it is scrolled into view', async () => {
    const { page, errors, context } = await open({ reducedMotion: 'no-preference' });
    await frames(page, 10);
    assert.ok(simulatedMs(await status(page, 'sync')) > 0, 'figure 1, on screen, plays');
    assert.equal(simulatedMs(await status(page, 'hybrid')), 0, 'figure 3, below the fold, waits');
    assert.equal(await fig(page, 'hybrid').locator('[data-test=play]').getAttribute('data-playing'), 'true');
    await fig(page, 'hybrid').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => {
      const s = document.querySelector('[data-figure=hybrid] [data-test=status]').textContent;
      return !s.startsWith('Simulated time 0 ms');
    });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('reduced motion starts every figure paused', async () => {
    const { page, errors, context } = await open();
    for (const slug of ['sync', 'async', 'hybrid']) {
      assert.equal(await fig(page, slug).locator('[data-test=play]').getAttribute('data-playing'), 'false');
    }
    const before = await status(page, 'hybrid');
    await frames(page, 5);
    assert.equal(await status(page, 'hybrid'), before);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('bad input', () => {
  test('typed nonsense gets a message, the field reverts and the run keeps its state', async () => {
    const { page, errors, context } = await open();
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      d.dismiss();
    });
    await press(page, 'hybrid', 'step');
    const before = await status(page, 'hybrid');
    const field = fig(page, 'hybrid').locator('input[type=text]').first();
    const notice = fig(page, 'hybrid').locator('[data-test=notice]');
    for (const bad of ['abc', '-5', '1e9', 'NaN', '', '<img src=x onerror=alert(1)>']) {
      await type(field, bad);
      assert.match(await notice.getAttribute('class'), /error/, `"${bad}" is refused`);
      assert.ok((await notice.textContent()).length > 10);
      assert.equal(await field.inputValue(), '60', `the field shows the real value after "${bad}"`);
    }
    assert.equal(await fig(page, 'hybrid').locator('img').count(), 0, 'nothing typed becomes HTML');
    assert.equal(await status(page, 'hybrid'), before, 'the run is where it was');
    // Extreme slider values are clamped by the browser and accepted.
    for (const v of ['-99', '99', '-3', '1']) await setSpeed(page, 'hybrid', v);
    assert.equal(await fig(page, 'hybrid').locator('[data-test=speed-value]').textContent(), '×10');
    assert.equal(dialogs, 0);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('bursts', () => {
  test('thousands of zero-time calls all complete and the picture agrees', async () => {
    const { page, errors, context } = await open();
    for (const field of await fig(page, 'sync').locator('input[type=text]').all()) {
      await type(field, '0');
    }
    await press(page, 'sync', 'reset');
    await fig(page, 'sync').locator('[data-test=act]').evaluate((button) => {
      for (let i = 0; i < 3000; i++) button.click();
    });
    await press(page, 'sync', 'play');
    await page.waitForFunction(() => {
      const a = document.querySelector('[data-figure=sync] [data-node=a]');
      return /idle/.test(a.getAttribute('class'));
    });
    assert.equal(await nodeState(page, 'sync', 'a'), 'idle');
    assert.equal(
      await fig(page, 'sync').locator('[data-node=a] [data-test=node-inbox]').textContent(),
      '',
      'no job is left in the inbox',
    );
    assert.equal(await fig(page, 'sync').locator('.token').count(), 0);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('keyboard and layout', () => {
  test('controls are reachable by keyboard with a visible focus ring', async () => {
    const { page, errors, context } = await open();
    await press(page, 'sync', 'reset');
    await page.locator('[data-figure=sync] [data-test=act]').focus();
    await page.keyboard.press('Tab'); // back and forth, so that focus is keyboard focus
    await page.keyboard.press('Shift+Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.test), 'act');
    assert.notEqual(outline, 'none');
    await page.keyboard.press('Enter');
    assert.equal(await tokens(page, 'sync', 'request'), 1, 'Enter on the button sent a request');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space'); // Play
    assert.equal(await fig(page, 'sync').locator('[data-test=play]').getAttribute('data-playing'), 'true');
    assert.deepEqual(errors, []);
    await context.close();
  });

  for (const [width, height] of [[1280, 800], [390, 844]]) {
    for (const colorScheme of ['light', 'dark']) {
      test(`renders at ${width}×${height} in ${colorScheme} without overflow or errors`, async () => {
        const { page, errors, context } = await open({ width, height, colorScheme });
        for (const slug of ['sync', 'async', 'hybrid']) await press(page, slug, 'step');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
        await screenshot(page, `page-${width}-${colorScheme}`);
        for (const slug of ['sync', 'async', 'hybrid']) {
          await fig(page, slug).screenshot({ path: `e2e/screenshots/${slug}-${width}-${colorScheme}.png` });
        }
        assert.deepEqual(errors, []);
        await context.close();
      });
    }
  }
});
