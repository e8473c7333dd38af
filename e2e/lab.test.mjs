// The failure lab in a real Chromium, on the release build: each preset opened, its question
// read, its run played to the end, and its answer checked against the run's own trace,
// exported through the Share tools; and a fault applied by a click, copied as a link and
// reopened, giving the same trace.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { download, openPage, useApp } from './harness.mjs';

const app = useApp();

const SHOTS = '/tmp/lab';

/** The page paused (reduced motion) unless told otherwise, at `query`. */
async function open(query = '', options = {}) {
  const opened = await openPage(app.browser, app.server.url + query, { reducedMotion: 'reduce', ...options });
  await opened.page.waitForSelector('[data-figure=hybrid] [data-test=diagram]');
  return opened;
}

const fig = (page, slug) => page.locator(`[data-figure=${slug}]`);

/** The run's trace, as the figure's Share tools export it. */
async function traceOf(page, slug) {
  return JSON.parse((await download(page, fig(page, slug).locator('[data-test=export-trace]'))).text);
}

/** A span of microseconds as the page writes it (SimDuration's Display). */
function shown(us) {
  if (us === 0) return '0 ms';
  if (us < 1_000) return `${us} µs`;
  if (us < 10_000) return `${(us / 1e3).toFixed(2)} ms`;
  if (us < 1_000_000) return `${(us / 1e3).toFixed(0)} ms`;
  if (us < 10_000_000) return `${(us / 1e6).toFixed(3)} s`;
  if (us < 100_000_000) return `${(us / 1e6).toFixed(2)} s`;
  return `${(us / 1e6).toFixed(1)} s`;
}

/** The trace's events, with helpers to find them by kind and node id. */
function reader(trace) {
  const id = (name) => trace.nodes.indexOf(name);
  const all = (kind, where = () => true) => trace.events.filter((e) => e.event === kind && where(e));
  const one = (kind, where) => {
    const found = all(kind, where)[0];
    assert.ok(found, `no ${kind} event in the trace`);
    return found;
  };
  return { id, all, one };
}

const times = (n) => ({ 1: 'once', 2: 'twice' })[n] ?? `${n} times`;

/** For each preset: what its answer must say, from its trace. */
const CHECKS = {
  'c-down': (t, answer) => {
    const waited = t.one('call_returned', (e) => e.node === t.id('a') && e.ok).waited;
    assert.ok(answer.startsWith(`Yes: A got its reply after ${shown(waited)}`), answer);
    const back = t.one('recovered', (e) => e.node === t.id('c')).at;
    assert.ok(answer.includes(`until C came back at ${shown(back)}`), answer);
  },
  'broker-down-b': (t, answer) => {
    const waited = t.one('call_returned', (e) => e.node === t.id('a') && e.ok).waited;
    assert.ok(answer.startsWith(`A got its reply after ${shown(waited)}`), answer);
    const dropped = t.one('dropped', (e) => e.node === t.id('broker'));
    assert.equal(dropped.reason, 'node_down');
    assert.ok(answer.includes(`reached the broker at ${shown(dropped.at)} while it was down`), answer);
    assert.equal(t.all('enqueued').length, 0);
  },
  'broker-down-b-confirm': (t, answer) => {
    assert.ok(answer.startsWith('A got an error back.'), answer);
    const done = t.one('work_done', (e) => e.node === t.id('b')).at;
    const failed = t.one('publish_failed', (e) => e.node === t.id('b') && e.job !== null);
    assert.ok(failed.timed_out && done < failed.at);
    assert.ok(answer.includes(`finished its own work at ${shown(done)}, but at ${shown(failed.at)} no confirm came`), answer);
    assert.equal(t.all('received', (e) => e.node === t.id('c')).length, 0, 'C got nothing');
  },
  'broker-down-b-outbox': (t, answer) => {
    const waited = t.one('call_returned', (e) => e.node === t.id('a') && e.ok).waited;
    assert.ok(answer.startsWith(`Yes: A got its reply after ${shown(waited)}`), answer);
    const relayed = t.one('outbox_relayed', (e) => e.node === t.id('b'));
    assert.ok(answer.includes(`published it ${relayed.attempts} times`), answer);
    assert.ok(answer.includes(`B had the broker's confirm at ${shown(relayed.at)}`), answer);
    const got = t.one('received', (e) => e.node === t.id('c')).at;
    assert.ok(answer.includes(`C got it at ${shown(got)}`), answer);
  },
  'subscriber-down': (t, answer) => {
    const waited = t.one('call_returned', (e) => e.node === t.id('a') && e.ok).waited;
    assert.ok(answer.startsWith(`Yes: A got its answer after ${shown(waited)}`), answer);
    const nobody = t.one('notified', (e) => e.subscribers === 0).at;
    assert.ok(answer.includes(`pushed the order's event at ${shown(nobody)}`), answer);
    assert.equal(t.all('sent', (e) => e.payload.type === 'push').length, 0, 'nothing pushed to C');
    const again = t.all('subscribed', (e) => e.subscriber === t.id('c')).at(-1).at;
    assert.ok(answer.includes(`C subscribed again at ${shown(again)}`), answer);
  },
  'log-consumer-crash': (t, answer) => {
    assert.equal(t.all('appended').length, 12);
    assert.equal(t.all('committed').length, 12);
    assert.ok(answer.startsWith('No record was lost: all 12 were committed.'), answer);
    const crashed = t.one('crashed', (e) => e.node === t.id('b1')).at;
    const moved = t.all('assigned', (e) => e.at === crashed && e.consumer === t.id('b2')).map((e) => `p${e.partition}`);
    assert.ok(answer.includes(`its partitions (${moved.join(', ')}) went to B2`), answer);
  },
  'slow-b-sync': (t, answer) => {
    const waited = t.one('call_returned', (e) => e.node === t.id('a') && e.ok).waited;
    const work = t.one('work_started', (e) => e.node === t.id('b'));
    assert.ok(answer.startsWith(`A waited ${shown(waited)}, and ${shown(work.until - work.at)} of it was B's work`), answer);
  },
  retry: (t, answer) => {
    const runs = t.all('work_started', (e) => e.node === t.id('b')).length;
    assert.ok(runs > 1, `B ran ${runs} times`);
    assert.ok(answer.startsWith(`B did the work ${times(runs)} for A's one call.`), answer);
    const failed = t.one('call_failed', (e) => e.node === t.id('a'));
    assert.ok(answer.includes(`A gave up after ${failed.attempts} attempts`), answer);
  },
  'retry-key': (t, answer) => {
    const runs = t.all('work_started', (e) => e.node === t.id('b')).length;
    assert.equal(runs, 1);
    assert.ok(answer.startsWith('B did the work once'), answer);
    const waited = t.one('call_returned', (e) => e.node === t.id('a') && e.ok).waited;
    assert.ok(answer.endsWith(`A got its reply after ${shown(waited)}.`), answer);
    assert.ok(t.all('replayed').length > 0);
  },
  'slow-b-async': (t, answer) => {
    assert.equal(t.all('call_blocked', (e) => e.node === t.id('a')).length, 0);
    const free = t.one('job_done', (e) => e.node === t.id('a')).at;
    assert.ok(answer.startsWith(`A never waited: it published at 0 ms and was free at ${shown(free)}`), answer);
    const work = t.one('work_started', (e) => e.node === t.id('b'));
    assert.ok(answer.includes(`B took ${shown(work.until - work.at)} over the message`), answer);
  },
  'broker-down': (t, answer) => {
    const dropped = t.one('dropped', (e) => e.node === t.id('broker'));
    assert.ok(answer.startsWith('A did not notice'), answer);
    assert.ok(answer.includes(`reached the broker at ${shown(dropped.at)} while it was down`), answer);
    assert.equal(t.all('received', (e) => e.node === t.id('b')).length, 0, 'B got nothing');
  },
  'slow-consumer': (t, answer) => {
    const most = Math.max(...[...t.all('enqueued'), ...t.all('dequeued')].map((e) => e.ready));
    assert.ok(most > 1);
    assert.ok(answer.startsWith(`The queue grew: up to ${most} messages waited at once`), answer);
    assert.equal(t.all('acked').length, t.all('arrived').length, 'every message was handled');
  },
  redelivery: (t, answer) => {
    const again = t.all('sent', (e) => e.payload.type === 'deliver' && e.payload.redelivered);
    assert.equal(again.length, 1);
    const acked = t.one('acked').at;
    const crashed = t.one('crashed', (e) => e.node === t.id('b')).at;
    assert.ok(answer.startsWith(`No, it was not lost: B crashed at ${shown(crashed)}`), answer);
    assert.ok(answer.includes(`its ack reached the broker at ${shown(acked)}`), answer);
  },
};

describe('presets', () => {
  for (const [slug, figure] of [
    ['slow-b-sync', 'sync'],
    ['retry', 'sync'],
    ['retry-key', 'sync'],
    ['slow-b-async', 'async'],
    ['broker-down', 'async'],
    ['slow-consumer', 'async'],
    ['redelivery', 'async'],
    ['c-down', 'hybrid'],
    ['broker-down-b', 'hybrid'],
    ['broker-down-b-confirm', 'hybrid'],
    ['broker-down-b-outbox', 'hybrid'],
    ['subscriber-down', 'graphql'],
    ['log-consumer-crash', 'log'],
  ]) {
    test(`${slug}: the question comes first, and the answer agrees with the trace`, async () => {
      const { page, errors, context } = await open();
      const f = fig(page, figure);
      await f.locator(`[data-preset=${slug}]`).click();
      assert.equal(await f.locator(`button[data-preset=${slug}]`).getAttribute('aria-pressed'), 'true');
      const question = await f.locator('[data-test=question]').textContent();
      assert.match(question, /\?$/);
      assert.equal(await f.locator('[data-test=answer]').count(), 0, 'no answer before the run');
      assert.equal(await f.locator('[data-test=answer-pending]').count(), 1);
      assert.equal(await f.locator('[data-test=play]').getAttribute('data-playing'), 'false');

      // Play at ×10 in real time until the run is over.
      await f.locator('[data-test=speed]').evaluate((el) => {
        el.value = '1';
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
      await f.locator('[data-test=play]').click();
      await f.locator('[data-test=answer]').waitFor({ timeout: 20_000 });
      const answer = (await f.locator('[data-test=answer]').textContent()).replace(/^Answer: /, '');
      await f.screenshot({ path: `${SHOTS}-${slug}.png` });

      const trace = await traceOf(page, figure);
      assert.match(trace.run, new RegExp(`preset=${slug}`));
      CHECKS[slug](reader(trace), answer);

      // A link to the preset opens it, question and all, on the main page.
      const again = await open(`?preset=${slug}`);
      const g = fig(again.page, figure);
      assert.equal(await g.locator('[data-test=question]').textContent(), question);
      assert.equal(await again.page.locator('[data-test=problems]').count(), 0);
      await again.context.close();

      // And the reader can leave it.
      await f.locator('[data-test=leave-preset]').click();
      assert.equal(await f.locator('[data-test=question]').count(), 0);
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.preset !== undefined), true, 'focus stays with the presets');
      assert.doesNotMatch((await traceOf(page, figure)).run, /preset=/);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }

  test('an unknown preset in the address is said, and the figures stay plain', async () => {
    const { page, errors, context } = await open('?figure=hybrid&preset=%3Cb%3Eboom');
    const problems = await page.locator('[data-test=problems]').textContent();
    assert.match(problems, /preset: “<b>boom” is not one of/);
    assert.equal(await page.locator('[data-test=question]').count(), 0);
    assert.equal(await page.locator('b').filter({ hasText: 'boom' }).count(), 0);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('faults from the page', () => {
  test('a crash, a slow service and a lossy link show, and a copied link reproduces the run', async () => {
    const { page, errors, context } = await open();
    const f = fig(page, 'hybrid');
    await f.locator('[data-test=step]').click();
    await f.locator('[data-test=crash-c]').click();
    assert.match(await f.locator('[data-test=status]').textContent(), /C down/);
    assert.match(await f.locator('[data-node=c]').getAttribute('class'), /\bdown\b/);
    assert.equal(await f.locator('[data-node=c] [data-test=node-state]').textContent(), 'down');
    assert.equal(await f.locator('[data-node=c] [data-test=node-badge]').textContent(), 'down');
    assert.match(await f.locator('[data-test=narration]').textContent(), /C crashed/);
    assert.equal(await f.locator('[data-test=crash-c]').textContent(), 'Recover C');

    await f.locator('[data-test=slow-b]').click();
    assert.match(await f.locator('[data-node=b] [data-test=node-badge]').textContent(), /slow ×10/);
    assert.match(await f.locator('[data-test=status]').textContent(), /B .*slow \(×10\)/);
    await f.locator('[data-test=loss-broker-c]').click();
    assert.match(await f.locator('[data-link="2"]').getAttribute('class'), /lossy/);
    assert.match(await f.locator('[data-test=status]').textContent(), /broker ↔ C link loses 50 %/);
    for (let i = 0; i < 6; i++) await f.locator('[data-test=step]').click();
    await f.locator('[data-test=crash-broker]').click();
    assert.match(await f.locator('[data-test=status]').textContent(), /broker down/);
    await f.locator('[data-test=crash-broker]').click(); // recover
    for (let i = 0; i < 4; i++) await f.locator('[data-test=step]').click();
    await f.screenshot({ path: `${SHOTS}-faults.png` });
    const before = await traceOf(page, 'hybrid');
    assert.match(before.run, /~crash-c/);
    assert.match(before.run, /~slow-b~1000/);
    assert.match(before.run, /~loss-broker-c~500/);
    assert.match(before.run, /~crash-broker.*~recover-broker/);

    await f.locator('[data-test=copy-link]').click();
    const link = await f.locator('[data-test=link]').inputValue();
    const again = await openPage(app.browser, link, { reducedMotion: 'reduce' });
    const g = fig(again.page, 'hybrid');
    await g.locator('[data-test=status]').waitFor();
    assert.equal(await g.locator('[data-test=status]').textContent(), await f.locator('[data-test=status]').textContent());
    assert.equal(await g.locator('[data-test=crash-c]').textContent(), 'Recover C');
    const reopened = await traceOf(again.page, 'hybrid');
    assert.deepEqual(reopened, before, 'the reopened run exports exactly the same trace');
    assert.deepEqual(again.errors, []);
    await again.context.close();
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('faults and presets work by keyboard, with a visible focus ring', async () => {
    const { page, errors, context } = await open();
    const f = fig(page, 'sync');
    await f.locator('[data-test=crash-b]').focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.test), 'crash-b');
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none');
    await page.keyboard.press('Enter');
    assert.match(await f.locator('[data-test=status]').textContent(), /B down/);
    assert.match(await page.locator('[data-test=announcer]').textContent(), /B crashed/);
    await f.locator('[data-preset=retry]').focus();
    await page.keyboard.press('Space');
    assert.match(await f.locator('[data-test=question]').textContent(), /How many times does B do the work/);
    assert.match(await page.locator('[data-test=announcer]').textContent(), /^Timeout and retry\. A gives up/);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('workload', () => {
  test('a steady rate is part of the start and of the link', async () => {
    const { page, errors, context } = await open();
    const f = fig(page, 'async');
    const ms = f.locator('[data-test=load-ms]');
    await ms.fill('300');
    await ms.press('Enter');
    await f.locator('[data-test=load-kind]').selectOption('every');
    for (let i = 0; i < 30; i++) await f.locator('[data-test=step]').click();
    const trace = await traceOf(page, 'async');
    assert.match(trace.run, /&load=every:300&/);
    const arrivals = trace.events.filter((e) => e.event === 'arrived').map((e) => e.at);
    assert.ok(arrivals.length >= 2, `${arrivals}`);
    arrivals.forEach((at, i) => assert.equal(at, i * 300_000));
    assert.equal(trace.events.filter((e) => e.event === 'triggered').length, 0, 'no action of the reader');
    await ms.fill('5');
    await ms.press('Enter');
    assert.match(await f.locator('.workload [role=alert]').textContent(), /from 10 to 60000/);
    assert.equal(await ms.inputValue(), '300');

    const again = await open(`?${trace.run}`);
    assert.deepEqual(await traceOf(again.page, 'async'), trace);
    assert.equal(await fig(again.page, 'async').locator('[data-test=load-kind]').inputValue(), 'every');
    await again.context.close();
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('looks', () => {
  for (const [width, height] of [[1280, 900], [390, 844]]) {
    for (const colorScheme of ['light', 'dark']) {
      test(`the lab at ${width}×${height} in ${colorScheme}: no overflow`, async () => {
        const { page, errors, context } = await open('?preset=c-down', { width, height, colorScheme });
        const f = fig(page, 'hybrid');
        await f.locator('[data-test=slow-b]').click();
        await f.locator('[data-test=loss-a-b]').click();
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
        await f.screenshot({ path: `${SHOTS}-hybrid-${width}-${colorScheme}.png` });
        assert.deepEqual(errors, []);
        await context.close();
      });
    }
  }
});
