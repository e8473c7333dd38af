// The figures beyond the three, on the release build: GraphQL's mutation and push, and the
// partitioned log, whose verdict on order per key must be the one its own trace gives.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { download, openPage, screenshot, useApp } from './harness.mjs';

const app = useApp();

/** Opens a figure from a link, paused at its moment. */
async function openAt(query, options = {}) {
  const opened = await openPage(app.browser, `${app.server.url}/?${query}`, { reducedMotion: 'reduce', ...options });
  const slug = new URLSearchParams(query).get('figure');
  const fig = opened.page.locator(`section.figure[data-figure=${slug}]`);
  await fig.locator('[data-test=status]').waitFor();
  return { ...opened, fig };
}

/** From a trace file: the keys whose records were committed out of the order the log got them. */
function keysOutOfOrder(trace) {
  const place = new Map(); // "partition@offset" -> [key, place]
  let appended = 0;
  const last = new Map();
  const broken = new Set();
  for (const e of trace.events) {
    if (e.event === 'appended') place.set(`${e.partition}@${e.offset}`, [e.key, appended++]);
    if (e.event === 'sent' && e.payload.type === 'commit') {
      const [key, p] = place.get(`${e.payload.partition}@${e.payload.offset}`);
      if (last.has(key) && p < last.get(key)) broken.add(key);
      last.set(key, Math.max(p, last.get(key) ?? p));
    }
  }
  return broken;
}

// A dozen presses at 0 ms: each a moment without a count of events, so that none can misfit.
const burst = (n) => Array.from({ length: n }, () => '0').join(',');

describe('the partitioned log', () => {
  test('says what its trace says about order per key, by key and round robin', async () => {
    let roundRobinBroke = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      for (const partitioner of ['key', 'round-robin']) {
        const q = `figure=log&seed=${seed}&partitioner=${partitioner}&in=${burst(12)}&t=30000`;
        const { page, fig, errors, context } = await openAt(q);
        const said = await fig.locator('[data-test=order]').textContent();
        assert.equal(await fig.locator('[data-test=problems]').count(), 0, `${q}: the link fits its run`);
        const trace = JSON.parse((await download(page, fig.locator('[data-test=export-trace]'))).text);
        const broken = keysOutOfOrder(trace);
        const commits = trace.events.filter((e) => e.event === 'committed').length;
        assert.equal(commits, 12, `${q}: every record committed`);
        if (broken.size === 0) {
          assert.equal(said, 'per-key order kept (12 done)', q);
        } else {
          assert.match(said, /^per-key order broken: k\d$/, q);
          assert.ok(broken.has(Number(said.at(-1))), `${q}: the page names a key the trace shows broken`);
        }
        if (partitioner === 'key') assert.equal(broken.size, 0, `${q}: by key, order holds`);
        else roundRobinBroke += broken.size > 0;
        assert.deepEqual(errors, []);
        await context.close();
      }
    }
    assert.ok(roundRobinBroke > 0, 'some seed shows round robin breaking a key\'s order');
  });

  test('the choice of partitioner starts the run again and goes into the link', async () => {
    const { page, fig, errors, context } = await openAt('figure=log&t=5000');
    await fig.locator('[data-test=partitioner]').selectOption('round-robin');
    await fig.locator('[data-test=copy-link]').click();
    const link = await fig.locator('[data-test=link]').inputValue();
    assert.match(link, /partitioner=round-robin/);
    assert.match(await fig.locator('[data-test=status]').textContent(), /Simulated time 0 ms/);
    // A page that does not claim more than the log gives.
    assert.match(await fig.locator('.caption').textContent(), /Nothing orders records in different partitions/);
    await screenshot(page, 'log-round-robin');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a bad partitioner in a link is named, and the figure partitions by key', async () => {
    const { fig, errors, context } = await openAt('figure=log&partitioner=%3Cb%3Eby-luck%3C%2Fb%3E&t=100');
    assert.match(await fig.textContent(), /partitioner: “<b>by-luck<\/b>” is neither key nor round-robin/);
    assert.equal(await fig.locator('[data-test=partitioner]').inputValue(), 'key');
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('GraphQL', () => {
  test('a mutation blocks A, and its event reaches the subscriber without A waiting for it', async () => {
    const { page, fig, errors, context } = await openAt('figure=graphql&t=2000');
    const trace = JSON.parse((await download(page, fig.locator('[data-test=export-trace]'))).text);
    const at = (pred) => trace.events.find(pred)?.at;
    const push = at((e) => e.event === 'sent' && e.payload.type === 'push');
    const returned = trace.events.find((e) => e.event === 'call_returned');
    const cDone = at((e) => e.event === 'work_done' && trace.nodes[e.node] === 'c');
    assert.ok(push !== undefined && returned && cDone !== undefined, 'a push, an answer, C done');
    assert.ok(returned.at < cDone, 'A has its answer before C has done its work');
    // The page says A waited the mutation's round trip, and nothing of C's work.
    assert.match(await fig.locator('[data-test=status]').textContent(), /A idle \(last wait 420 ms\)/);
    assert.equal(await fig.locator('.link.websocket .link-label').textContent(), 'WebSocket');
    await screenshot(page, 'graphql');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
