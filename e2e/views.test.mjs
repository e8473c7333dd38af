// The views under each figure, against the release build: the sequence diagram drawn from the
// trace (HTTP arrows with solid heads and the caller's bar, the broker's traffic with open
// heads), and the numbers, which must agree with what the status line and the narration say.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, useApp } from './harness.mjs';

const app = useApp();

/** Opens the page paused (reduced motion) unless told otherwise. */
async function open(options = {}) {
  const opened = await openPage(app.browser, app.server.url, { reducedMotion: 'reduce', ...options });
  await opened.page.waitForSelector('[data-figure=hybrid] [data-test=sequence] svg');
  return opened;
}

const fig = (page, slug) => page.locator(`[data-figure=${slug}]`);
const press = (page, slug, what) => fig(page, slug).locator(`[data-test=${what}]`).first().click();
const narration = (page, slug) => fig(page, slug).locator('[data-test=narration]').textContent();
const status = (page, slug) => fig(page, slug).locator('[data-test=status]').textContent();
const arrows = (page, slug, kind) =>
  fig(page, slug).locator(`[data-test=sequence] [data-arrow${kind ? `=${kind}` : ''}]`);

async function stepUntil(page, slug, check, limit = 60) {
  for (let i = 0; i < limit; i++) {
    if (await check()) return i;
    await press(page, slug, 'step');
  }
  assert.fail(`no step of ${slug} reached the state within ${limit} events`);
}

/** A duration as the page writes it ("520 ms", "2.120 s", "850 µs"), in milliseconds. */
function ms(text) {
  const [, value, unit] = /([\d.]+) (µs|ms|s)\b/.exec(text);
  return Number(value) * { µs: 0.001, ms: 1, s: 1000 }[unit];
}

describe('the sequence diagram', () => {
  test('a request in Figure 1 draws a request arrow, a response arrow and the caller’s bar', async () => {
    const { page, errors, context } = await open();
    await press(page, 'sync', 'reset');
    assert.equal(await arrows(page, 'sync').count(), 0, 'a reset run has drawn nothing');
    await press(page, 'sync', 'act');

    // At once: the request is on its way, drawn up to now, and A's bar has begun.
    assert.equal(await arrows(page, 'sync', 'request').count(), 1);
    assert.equal(await arrows(page, 'sync', 'request').getAttribute('data-fate'), 'on-wire');
    assert.equal(await fig(page, 'sync').locator('[data-test=activation]').count(), 1);

    await stepUntil(page, 'sync', async () => /A got its response/.test(await narration(page, 'sync')));
    const request = arrows(page, 'sync', 'request');
    const response = arrows(page, 'sync', 'response');
    assert.equal(await request.count(), 1);
    assert.equal(await response.count(), 1);
    for (const a of [request, response]) {
      assert.equal(await a.getAttribute('data-style'), 'sync');
      assert.equal(await a.getAttribute('data-fate'), 'received');
      assert.equal(await a.locator('polygon.head').count(), 1, 'a solid head');
    }
    const bar = fig(page, 'sync').locator('[data-test=activation]');
    assert.equal(await bar.count(), 1);
    assert.doesNotMatch((await bar.getAttribute('class')) ?? '', /open/, 'the call is over');

    // The bar runs from the request's start on A's lane to the response's tip.
    const line = async (a) => {
      const l = a.locator('line');
      const get = async (n) => Number(await l.getAttribute(n));
      return { x1: await get('x1'), y1: await get('y1'), x2: await get('x2'), y2: await get('y2') };
    };
    const [req, res] = [await line(request), await line(response)];
    const top = Number(await bar.getAttribute('y'));
    const height = Number(await bar.getAttribute('height'));
    assert.ok(Math.abs(top - req.y1) < 0.01, `bar starts at ${top}, the request at ${req.y1}`);
    assert.ok(Math.abs(top + height - res.y2) < 0.01, 'the bar ends where the response arrives');
    assert.ok(res.y2 > req.y2, 'time runs down: the response arrives after the request');
    assert.equal(res.x2, req.x1, 'the response comes back to the caller’s lane');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('Figure 2’s arrows are asynchronous: open heads, and no one is held', async () => {
    const { page, errors, context } = await open();
    await press(page, 'async', 'act');
    await stepUntil(page, 'async', async () => (await arrows(page, 'async', 'ack').count()) >= 1);
    const all = arrows(page, 'async');
    const n = await all.count();
    assert.ok(n >= 4, `publish, confirm, deliver and ack: ${n} arrows`);
    for (let i = 0; i < n; i++) {
      assert.equal(await all.nth(i).getAttribute('data-style'), 'async');
      assert.equal(await all.nth(i).locator('polygon').count(), 0);
    }
    assert.ok((await fig(page, 'async').locator('[data-test=sequence] polyline.head').count()) >= 4);
    assert.equal(await fig(page, 'async').locator('[data-test=activation]').count(), 0);
    for (const kind of ['publish', 'confirm', 'deliver', 'ack']) {
      assert.ok((await arrows(page, 'async', kind).count()) >= 1, `a ${kind} arrow`);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('the reader can scroll back and return to now; the picture is described in words', async () => {
    const { page, errors, context } = await open();
    const seq = fig(page, 'sync').locator('[data-test=sequence]');
    await stepUntil(page, 'sync', async () => /last wait/.test(await status(page, 'sync')));
    const shown = () => seq.locator('[data-test=seq-window]').textContent();
    assert.equal(await shown(), '0 ms – 1.000 s');
    await press(page, 'sync', 'seq-zoom-in');
    assert.equal(await shown(), '40 ms – 540 ms', 'half the span, ending now');
    await press(page, 'sync', 'seq-earlier');
    assert.equal(await shown(), '0 ms – 500 ms');
    assert.equal(await seq.locator('[data-test=seq-now]').getAttribute('aria-pressed'), 'false');
    await press(page, 'sync', 'seq-now');
    assert.equal(await shown(), '40 ms – 540 ms');
    assert.equal(await seq.locator('[data-test=seq-now]').getAttribute('aria-pressed'), 'true');

    const svg = seq.locator('svg');
    assert.equal(await svg.getAttribute('role'), 'img');
    assert.match(await svg.locator('title').textContent(), /^Sequence diagram: Synchronous/);
    assert.match(await svg.locator('desc').textContent(), /Lanes A, B; simulated time runs down/);
    const items = await seq.locator('.visually-hidden li').allTextContents();
    assert.equal(items.at(-1), 'B → A: HTTP response, sent at 460 ms, arrived at 520 ms.');
    assert.equal(await seq.locator('[aria-live]').count(), 0, 'the narration speaks, not this');
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('the numbers', () => {
  test('A’s latency is the wait the narration and the status line give, plus A’s own work', async () => {
    const { page, errors, context } = await open();
    const latency = fig(page, 'sync').locator('[data-test=metric-latency]');
    await press(page, 'sync', 'reset');
    assert.match(await latency.textContent(), /no jobs finished yet/);
    await press(page, 'sync', 'act');
    await stepUntil(page, 'sync', async () => /A got its response/.test(await narration(page, 'sync')));
    // "A got its response after waiting 520 ms and goes on with its own work (20 ms)."
    const said = await narration(page, 'sync');
    const waited = ms(/after waiting ([^ ]+ [^ ]+)/.exec(said)[1]);
    const own = ms(/own work \(([^)]+)\)/.exec(said)[1]);
    await stepUntil(page, 'sync', async () => /A idle/.test(await status(page, 'sync')));
    assert.equal(ms(/last wait ([^)]+)\)/.exec(await status(page, 'sync'))[1]), waited);

    const p50 = Number(await latency.getAttribute('data-p50-ms'));
    assert.equal(p50, waited + own);
    assert.match(await latency.textContent(), new RegExp(`p50 ${waited + own} ms · p95 ${waited + own} ms`));
    assert.match(await latency.textContent(), /1 jobs?, from their start at A/);
    const blocked = await fig(page, 'sync').locator('[data-test=metric-blocked]').textContent();
    assert.match(blocked, new RegExp(`${Math.round((100 * waited) / (waited + own))}% of A's busy time`));
    assert.match(blocked, new RegExp(`held by calls ${waited} ms of ${waited + own} ms`));
    assert.match(await fig(page, 'sync').locator('[data-test=metric-errors]').textContent(), /0 failed · 0 lost · 0 dropped/);

    // The broker's figure: A is never blocked, and the queue and the lag are shown.
    await stepUntil(page, 'async', async () => /acked|ack/.test(await narration(page, 'async')));
    assert.match(await fig(page, 'async').locator('[data-test=metric-blocked]').textContent(), /0% of A's busy time/);
    assert.equal(await fig(page, 'async').locator('[data-test=metric-queue]').count(), 1);
    assert.equal(await fig(page, 'sync').locator('[data-test=metric-queue]').count(), 0);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('side by side', () => {
  test('one workload under the three figures; a bad rate is said and the last results stay', async () => {
    const { page, errors, context } = await open();
    const section = page.locator('[data-test=compare]');
    const table = section.locator('[data-test=compare-table]');
    const sentence = section.locator('[data-test=compare-sentence]');
    const cell = (row, col) => table.locator('tbody tr').nth(row).locator('td').nth(col).textContent();
    // Row 0 is the median latency, row 3 the blocked share; columns: sync, async, hybrid.
    const syncP50 = await cell(0, 0);
    assert.match(await sentence.textContent(), new RegExp(`its median job takes ${syncP50} and calls hold it ${await cell(3, 0)}`));
    assert.equal(await cell(3, 1), '0%', 'the publisher is never held by a call');
    assert.ok(ms(syncP50) > ms(await cell(0, 1)), 'the waiting caller is slower');

    const before = await table.textContent();
    await section.locator('[data-test=compare-rate]').fill('fast');
    await section.locator('[data-test=compare-run]').click();
    assert.match(await section.locator('[data-test=compare-error]').textContent(), /The rate must be a number .* “fast” is not/);
    assert.equal(await table.textContent(), before, 'the last results stay');
    assert.equal(await section.locator('[data-test=compare-rate]').inputValue(), 'fast', 'and so does what was typed');

    await section.locator('[data-test=compare-rate]').fill('3');
    await section.locator('[data-test=compare-run]').click();
    assert.equal(await section.locator('[data-test=compare-error]').textContent(), '');
    assert.match(await table.locator('caption').textContent(), /^3\.0 jobs a second, seed 2026$/);
    assert.match(await sentence.textContent(), /cannot keep up/);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
