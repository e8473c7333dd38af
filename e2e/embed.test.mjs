// Embedding, shareable runs and exports, in a real Chromium against the existing builds:
// figures mounted into a host page of our own (e2e/fixtures/), in iframes on another origin,
// under a sub-path build, in the mdBook; links that reproduce a moment; the Mermaid, SVG and
// trace exports; trace import; and hostile values in the address.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DIST,
  ROOT,
  download,
  launchBrowser,
  openPage,
  screenshot,
  serveDist,
  serveMounts,
} from './harness.mjs';
import { embedSizes, timeToReady } from './measure-embed.mjs';

const FIXTURES = join(ROOT, 'e2e', 'fixtures');
// The same app built with `trunk build --release --public-url /some/path/`.
const DIST_SUB = join(ROOT, 'target', 'dist-sub');
const BOOK = join(ROOT, 'docs', 'book');

let browser;
let app; // dist/ at the root
let host; // the fixtures at the root, dist/ under /callflow/, mermaid under /mermaid/

before(async () => {
  assert.ok(existsSync(join(DIST, 'callflow-embed.js')), 'no dist/callflow-embed.js: build the app first');
  app = await serveDist();
  host = await serveMounts({
    '/': FIXTURES,
    '/callflow/': DIST,
    '/mermaid/': join(ROOT, 'node_modules', 'mermaid', 'dist'),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await host?.close();
});

const FIGURES = ['sync', 'async', 'hybrid'];

/** The figure `slug` within `scope` (a page, frame or locator; CSS locators pierce open shadow roots). */
const figureOn = (scope, slug) => scope.locator(`section.figure[data-figure=${slug}]`);
const statusOf = (fig) => fig.locator('[data-test=status]').textContent();
const playingOf = (fig) => fig.locator('[data-test=play]').getAttribute('data-playing');

/** The simulated time in a status line, in milliseconds. */
function simulatedMs(text) {
  const found = /^Simulated time ([\d.]+) (µs|ms|s)\b/.exec(text);
  assert.ok(found, `not a status line: ${text}`);
  return Number(found[1]) * { µs: 0.001, ms: 1, s: 1000 }[found[2]];
}

/**
 * openPage with a fake clock that stands still: timers and animation frames run only in
 * page.clock.runFor. (An installed clock otherwise flows with real time.)
 */
async function openStill(url, options = {}) {
  const opened = await openPage(browser, url, { ...options, fakeClock: true });
  await opened.page.clock.pauseAt(Date.now() + 1000);
  return opened;
}

/** Types `text` into a settings field and presses Enter. */
async function type(field, text) {
  await field.fill(text);
  await field.press('Enter');
}

/**
 * Scrolls the element into view and resolves once an IntersectionObserver made now reports
 * it on screen. Observers are notified in one task, in the order they were made, so by then
 * the figure's own observer (made when it mounted) has been told too.
 */
const bringIntoView = (locator) =>
  locator.evaluate(
    (el) =>
      new Promise((done) => {
        el.scrollIntoView({ block: 'start' });
        const observer = new IntersectionObserver((entries) => {
          if (entries.some((e) => e.isIntersecting)) {
            observer.disconnect();
            done();
          }
        });
        observer.observe(el);
      }),
  );

/** Resolves once the element is reported off screen (as bringIntoView, the other way). */
const reportedOffScreen = (locator) =>
  locator.evaluate(
    (el) =>
      new Promise((done) => {
        const observer = new IntersectionObserver((entries) => {
          if (entries.some((e) => !e.isIntersecting)) {
            observer.disconnect();
            done();
          }
        });
        observer.observe(el);
      }),
  );

/** Waits until every element of `hosts` (ids) holds a mounted figure with a status line. */
const mounted = (frame, ids) =>
  frame.waitForFunction(
    (ids) => ids.every((id) => document.getElementById(id)?.shadowRoot?.querySelector('section.figure [data-test=status]')),
    ids,
  );

describe('mounted figures on a host page', () => {
  test('figures whose elements leave the page are unmounted and leave nothing behind; one voice for all', async () => {
    // The real clock: the loader notices removals through a MutationObserver and timers.
    const { page, errors, context } = await openPage(browser, `${host.url}three.html`, { reducedMotion: 'reduce' });
    await mounted(page, ['one', 'two', 'three']);
    assert.equal(await page.locator('[data-callflow-voice]').count(), 1, 'one live region for the page');
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const counts = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const get = (name) => metrics.find((m) => m.name === name).value;
      return { nodes: get('Nodes'), listeners: get('JSEventListeners') };
    };
    // One cycle first, so that what is made once per page (the module, the voice) is made.
    const cycle = (n) =>
      page.evaluate(async (n) => {
        for (let i = 0; i < n; i++) {
          const el = document.createElement('div');
          el.dataset.callflow = ['sync', 'async', 'hybrid'][i % 3];
          document.body.append(el);
          await window.callflow.mount(el);
          el.remove();
          // The loader unmounts on the next mutation check.
          await new Promise((done) => setTimeout(done, 0));
        }
      }, n);
    await cycle(3);
    const before = await counts();
    await cycle(60);
    const after = await counts();
    assert.ok(after.nodes - before.nodes < 200, `DOM nodes ${before.nodes} → ${after.nodes} after 60 mounts and removals`);
    assert.ok(after.listeners - before.listeners < 40, `listeners ${before.listeners} → ${after.listeners}`);

    // An element put back is mounted again, fresh; unmount() takes a figure out at once.
    const again = await page.evaluate(async () => {
      const el = document.getElementById('two');
      el.remove();
      await new Promise((done) => setTimeout(done, 0));
      document.body.append(el);
      await window.callflow.mount(el);
      const fresh = el.shadowRoot.querySelectorAll('section.figure').length;
      await window.callflow.unmount(el);
      return { fresh, after: el.shadowRoot.querySelectorAll('section.figure').length };
    });
    assert.deepEqual(again, { fresh: 1, after: 0 });
    assert.equal(await page.locator('[data-callflow-voice]').count(), 1);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('three figures on one page run independently and leave the host page alone', async () => {
    const { page, errors, context } = await openStill(`${host.url}three.html`);
    const ids = ['one', 'two', 'three'];
    await mounted(page, ids);
    await page.waitForFunction(() => window.callflowReadyAt !== undefined);
    const one = page.locator('#one').locator('section.figure');
    const two = page.locator('#two').locator('section.figure');
    const three = page.locator('#three').locator('section.figure');
    assert.equal(await one.getAttribute('data-figure'), 'sync');
    assert.equal(await two.getAttribute('data-figure'), 'async');
    assert.equal(await three.getAttribute('data-figure'), 'hybrid');
    for (const fig of [one, two, three]) {
      assert.equal(await playingOf(fig), 'false', 'data-autoplay="false" holds');
      assert.match(await statusOf(fig), /^Simulated time 0 ms/);
    }

    // Figure one: two steps. Figure two: left alone. Figure three: played.
    await one.locator('[data-test=step]').click();
    await one.locator('[data-test=step]').click();
    assert.match(await statusOf(one), /^Simulated time 460 ms · A waiting for B: 460 ms/);
    await bringIntoView(page.locator('#three'));
    await three.locator('[data-test=play]').click();
    assert.equal(await playingOf(three), 'true');
    await page.clock.runFor(2000); // ×0.25: about 500 ms of simulated time
    const played = simulatedMs(await statusOf(three));
    assert.ok(played >= 400 && played <= 600, `figure three played to ${played} ms`);
    assert.match(await statusOf(one), /^Simulated time 460 ms/, 'figure one stays where its steps put it');
    assert.match(await statusOf(two), /^Simulated time 0 ms/, 'figure two never moved');
    assert.equal(await playingOf(one), 'false');
    assert.equal(await playingOf(two), 'false');

    const seen = await page.evaluate((ids) => {
      const style = (el) => getComputedStyle(el);
      const root = (id) => document.getElementById(id).shadowRoot;
      return {
        hostButton: style(document.getElementById('host-button')).color,
        hostBackground: style(document.getElementById('host-button')).backgroundColor,
        bodyFont: style(document.body).fontFamily,
        styleElements: document.querySelectorAll('style').length,
        stylesheetLinks: document.querySelectorAll('link[rel~=stylesheet]').length,
        styleSheets: document.styleSheets.length,
        adopted: document.adoptedStyleSheets.length,
        lightChildren: ids.map((id) => document.getElementById(id).childNodes.length),
        modes: ids.map((id) => root(id).mode),
        outlines: ids.map((id) => {
          const s = style(root(id).querySelector('section.figure'));
          return `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`;
        }),
        borders: ids.map((id) => style(root(id).querySelector('section.figure')).borderTopStyle),
        buttons: ids.map((id) => style(root(id).querySelector('[data-test=act]')).color),
        spacing: ids.map((id) => style(root(id).querySelector('p.caption')).letterSpacing),
      };
    }, ids);
    assert.equal(seen.hostButton, 'rgb(200, 0, 0)', "the host's button keeps its colour");
    assert.equal(seen.hostBackground, 'rgb(255, 240, 200)');
    assert.match(seen.bodyFont, /Georgia/);
    assert.equal(seen.styleElements, 1, 'callflow added no <style> to the host document');
    assert.equal(seen.stylesheetLinks, 0, 'callflow added no stylesheet <link>');
    assert.equal(seen.styleSheets, 1);
    assert.equal(seen.adopted, 0);
    assert.deepEqual(seen.lightChildren, [0, 0, 0], "the host elements' light DOM stays empty");
    assert.deepEqual(seen.modes, ['open', 'open', 'open']);
    for (const outline of seen.outlines) assert.notEqual(outline, 'solid 5px rgb(255, 0, 0)', 'the host .figure rule reached a figure');
    for (const border of seen.borders) assert.notEqual(border, 'dashed', 'the host section rule reached a figure');
    for (const colour of seen.buttons) assert.notEqual(colour, 'rgb(200, 0, 0)', 'the host button rule reached a figure');
    for (const spacing of seen.spacing) assert.notEqual(spacing, '3px', 'the host p rule reached a figure');

    await screenshot(page, 'embed-three');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('off-screen figures and a figure in a hidden frame do not run until they can be seen', async () => {
    const { page, errors, context } = await openStill(`${host.url}offscreen.html`);
    await mounted(page, ['near', 'far']);
    const frame = await (await page.locator('#hidden-frame').elementHandle()).contentFrame();
    await frame.waitForFunction(() =>
      document.querySelector('[data-callflow]')?.shadowRoot?.querySelector('section.figure [data-test=status]'),
    );
    const near = page.locator('#near section.figure');
    const far = page.locator('#far section.figure');
    const hidden = frame.locator('section.figure');
    await bringIntoView(page.locator('#near'));
    await reportedOffScreen(page.locator('#far'));

    await page.clock.runFor(1000);
    assert.ok(simulatedMs(await statusOf(near)) > 0, 'the figure on screen plays');
    assert.match(await statusOf(far), /^Simulated time 0 ms/, 'the figure below the fold waits');
    assert.equal(await playingOf(far), 'true', 'though it is set to play');
    assert.match(await statusOf(hidden), /^Simulated time 0 ms/, 'the figure in a hidden frame waits');
    assert.equal(await playingOf(hidden), 'true');

    await bringIntoView(page.locator('#far'));
    await page.clock.runFor(1000);
    assert.ok(simulatedMs(await statusOf(far)) > 0, 'scrolled into view, it plays');

    // Shown, the framed figure plays too.
    await page.locator('#hidden-frame').evaluate((el) => {
      el.style.display = 'block';
    });
    await bringIntoView(page.locator('#hidden-frame'));
    await bringIntoView(frame.locator('[data-callflow]'));
    await page.clock.runFor(1000);
    assert.ok(simulatedMs(await statusOf(hidden)) > 0, 'the frame, shown, plays');
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('awkward host pages', () => {
  test('an id of callflow, figure and li elements, a flex row, a right-to-left page and a strict CSP', async () => {
    const { page, errors, context } = await openPage(browser, `${host.url}quirks.html`);
    await page.waitForFunction(() =>
      ['in-figure', 'in-row', 'in-li'].every((id) => {
        const el = document.getElementById(id);
        const root = el.shadowRoot ?? el.firstElementChild?.shadowRoot;
        return root?.querySelector('section.figure [data-test=status]');
      }),
    );
    const seen = await page.evaluate(() => {
      const rootOf = (id) => {
        const el = document.getElementById(id);
        return el.shadowRoot ?? el.firstElementChild.shadowRoot;
      };
      const section = (id) => rootOf(id).querySelector('section.figure');
      const box = rootOf('in-figure').querySelector('[data-node=a] .box');
      return {
        loader: typeof window.callflow.mount,
        rowWidth: section('in-row').getBoundingClientRect().width,
        direction: getComputedStyle(section('in-li')).direction,
        fill: box && getComputedStyle(box).fill,
        problems: rootOf('in-figure').querySelectorAll('[data-test=problems]').length,
      };
    });
    assert.equal(seen.loader, 'function', 'the loader is not fooled by an element with id callflow');
    assert.ok(seen.rowWidth > 300, `in a flex row the figure takes room: ${seen.rowWidth}px`);
    assert.equal(seen.direction, 'ltr', "the figure's text runs left to right on a right-to-left page");
    assert.notEqual(seen.fill, 'rgb(0, 0, 0)', 'styled under a policy without inline styles');
    assert.equal(seen.problems, 0, "a framework's data- attribute is not taken for an option");
    await screenshot(page, 'embed-quirks');
    assert.deepEqual(errors, [], 'nothing of callflow is refused under the policy');
    await context.close();
  });
});

describe('the iframe embed', () => {
  test('reports its height to the parent it is told, and without parent posts nothing', async () => {
    const { page, errors, context } = await openPage(
      browser,
      `${host.url}iframe-host.html?embed=${encodeURIComponent(app.url)}`,
      { reducedMotion: 'reduce' },
    );
    const frameOf = async (id) => (await page.locator(`#${id}`).elementHandle()).contentFrame();
    const withParent = await frameOf('with-parent');
    const withoutParent = await frameOf('without-parent');
    for (const frame of [withParent, withoutParent]) {
      await frame.waitForFunction(() =>
        document.querySelector('[data-callflow]')?.shadowRoot?.querySelector('section.figure [data-test=status]'),
      );
    }
    const frameOrigin = new URL(app.url).origin;
    assert.notEqual(frameOrigin, new URL(host.url).origin, 'the frames are on another origin');
    const heights = () =>
      page.evaluate(
        (origin) =>
          window.messages
            .filter((m) => m.from === 'with-parent' && m.origin === origin && m.data?.type === 'callflow:height')
            .map((m) => m.data.height),
        frameOrigin,
      );
    const scrollHeight = (frame) => frame.evaluate(() => document.documentElement.scrollHeight);
    const lastHeightIs = (h) =>
      page.waitForFunction(
        ([origin, h]) => {
          const mine = window.messages.filter(
            (m) => m.from === 'with-parent' && m.origin === origin && m.data?.type === 'callflow:height',
          );
          return mine.length > 0 && mine[mine.length - 1].data.height === h;
        },
        [frameOrigin, h],
      );

    const first = await scrollHeight(withParent);
    assert.ok(first > 300, `the frame's content is ${first}px tall`);
    await lastHeightIs(first);
    assert.equal(await page.locator('#with-parent').evaluate((el) => el.offsetHeight), first, 'the host sized the frame');
    const before = (await heights()).length;

    // The host narrows the frame: the figure stacks its boxes and grows taller. (A frame
    // on another origin that is off screen is not rendered, so each frame is brought into
    // view first.)
    const narrow = async (id, frame) => {
      await page.locator(`#${id}`).scrollIntoViewIfNeeded();
      await page.locator(`#${id}`).evaluate((el) => {
        el.style.width = '420px';
      });
      await frame.waitForFunction(() =>
        document.querySelector('[data-callflow]').shadowRoot.querySelector('svg.diagram.tall'),
      );
    };
    await narrow('with-parent', withParent);
    const grown = await scrollHeight(withParent);
    assert.ok(grown > first + 200, `the content grew (${first}px → ${grown}px)`);
    await lastHeightIs(grown);
    assert.ok((await heights()).length > before, 'a new height was posted');
    assert.equal(await page.locator('#with-parent').evaluate((el) => el.offsetHeight), grown);
    for (const h of await heights()) assert.equal(typeof h, 'number');

    // Widened again, the figure lays its boxes side by side and the frame shrinks back: the
    // height reported is the figure's own, which can be less than the frame's.
    await page.locator('#with-parent').evaluate((el) => {
      el.style.width = '';
    });
    await withParent.waitForFunction(() =>
      document.querySelector('[data-callflow]').shadowRoot.querySelector('svg.diagram.wide'),
    );
    const figureHeight = () => withParent.evaluate(() => document.querySelector('[data-callflow]').offsetHeight);
    await withParent.waitForFunction((g) => document.querySelector('[data-callflow]').offsetHeight < g - 200, grown);
    const shrunk = await figureHeight();
    await lastHeightIs(shrunk);
    assert.equal(await page.locator('#with-parent').evaluate((el) => el.offsetHeight), shrunk, 'the frame shrank');

    // The other frame goes through the same; two frames after it has stacked, it posts a
    // message of its own, and messages from one frame arrive in order, so any height it had
    // posted would have arrived before that one.
    await narrow('without-parent', withoutParent);
    await withoutParent.evaluate(
      () =>
        new Promise((done) =>
          requestAnimationFrame(() =>
            requestAnimationFrame(() => {
              window.parent.postMessage({ type: 'test:sentinel' }, '*');
              done();
            }),
          ),
        ),
    );
    await page.waitForFunction(() => window.messages.some((m) => m.data?.type === 'test:sentinel'));
    const messages = await page.evaluate(() => window.messages);
    assert.deepEqual(
      messages.filter((m) => m.from === 'without-parent' && m.data?.type !== 'test:sentinel'),
      [],
      'a frame without parent= posts nothing',
    );
    assert.deepEqual(messages.filter((m) => m.from === 'elsewhere'), []);
    assert.ok(messages.filter((m) => m.from === 'with-parent').every((m) => m.origin === frameOrigin));

    await screenshot(page, 'embed-iframes');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('Copy link in a frame on another origin, embedded as embedding.md shows, gives the link and no error', async () => {
    // The frame has no allow="clipboard-write", as in the documented snippet, so the
    // browser refuses the clipboard; the figure must still show the link, and not throw.
    const { page, errors, context } = await openPage(
      browser,
      `${host.url}iframe-host.html?embed=${encodeURIComponent(app.url)}`,
      { reducedMotion: 'reduce' },
    );
    const frame = await (await page.locator('#with-parent').elementHandle()).contentFrame();
    const fig = frame.locator('section.figure[data-figure=hybrid]');
    await fig.locator('[data-test=status]').waitFor();
    await fig.locator('[data-test=step]').click();
    await fig.locator('[data-test=copy-link]').click();
    const link = await fig.locator('[data-test=link]').inputValue();
    assert.ok(link.startsWith(`${app.url}embed.html?figure=hybrid&`), `the link opens the figure alone, in embed.html: ${link}`);
    assert.match(link, /[?&]t=60@\d+/);
    assert.ok(!link.includes('parent='), 'the link does not carry the frame\'s parent');
    // Any rejection of the clipboard write has surfaced by the time the next frames are drawn.
    await frame.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('a build for a sub-path', () => {
  test('serves the page, its figures and embed.html from /some/path/ with every request found', async (t) => {
    assert.ok(
      existsSync(join(DIST_SUB, 'index.html')),
      'no target/dist-sub/index.html: build it with `trunk build --release --public-url /some/path/ --dist target/dist-sub`',
    );
    const sub = await serveMounts({ '/some/path/': DIST_SUB });
    t.after(() => sub.close());
    const base = `${sub.url}some/path/`;
    const open = async (url, options) => {
      const bad = [];
      const seen = [];
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
      const page = await context.newPage();
      const errors = [];
      page.on('console', (msg) => msg.type() === 'error' && errors.push(`console: ${msg.text()}`));
      page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
      page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()}`));
      page.on('response', (res) => {
        seen.push(res.url());
        if (res.status() >= 400) bad.push(`${res.status()} ${res.url()}`);
      });
      await page.goto(url, { waitUntil: 'load' });
      return { page, context, errors, bad, seen };
    };

    const main = await open(base);
    await main.page.waitForSelector('section.figure[data-figure=hybrid] [data-test=status]');
    assert.equal(await main.page.locator('section.figure').count(), 5, 'the three and the two beyond');
    for (const slug of FIGURES) assert.equal(await figureOn(main.page, slug).count(), 1);
    const sync = figureOn(main.page, 'sync');
    await main.page.waitForFunction(
      () => !document.querySelector('[data-figure=sync] [data-test=status]').textContent.startsWith('Simulated time 0 ms'),
    );
    await figureOn(main.page, 'async').locator('[data-test=step]').click();
    assert.doesNotMatch(await statusOf(figureOn(main.page, 'async')), /^Simulated time 0 ms/);
    await sync.locator('[data-test=copy-link]').click();
    assert.ok(
      (await sync.locator('[data-test=link]').inputValue()).startsWith(`${base}?figure=sync&`),
      'a link from the sub-path page points to the sub-path page',
    );
    await main.page.waitForLoadState('networkidle');
    assert.deepEqual(main.bad, [], 'every request of the page was found');
    assert.ok(main.seen.length >= 4);
    assert.deepEqual(main.seen.filter((u) => !u.startsWith(base)), [], 'every request stays under /some/path/');
    assert.deepEqual(main.errors, []);
    await main.context.close();

    const framed = await open(`${base}embed.html?figure=sync`);
    await framed.page.waitForSelector('[data-callflow] >> section.figure[data-figure=sync] [data-test=status]');
    const fig = framed.page.locator('section.figure[data-figure=sync]');
    await framed.page.waitForFunction(
      () =>
        !document
          .querySelector('[data-callflow]')
          .shadowRoot.querySelector('[data-test=status]')
          .textContent.startsWith('Simulated time 0 ms'),
    );
    await fig.locator('[data-test=copy-link]').click();
    assert.ok(
      (await fig.locator('[data-test=link]').inputValue()).startsWith(`${base}embed.html?figure=sync&`),
      'a link from the frame opens embed.html under the sub-path',
    );
    await framed.page.waitForLoadState('networkidle');
    assert.deepEqual(framed.bad, []);
    assert.deepEqual(framed.seen.filter((u) => !u.startsWith(base)), []);
    assert.deepEqual(framed.errors, []);
    await framed.context.close();
  });
});

describe('links to a moment', () => {
  test('the link of a moment reopens the run paused there, with the very same trace', async () => {
    const { page, errors, context } = await openStill(app.url, { reducedMotion: 'reduce' });
    const fig = figureOn(page, 'hybrid');
    await fig.locator('[data-test=status]').waitFor();
    await type(fig.getByLabel('C processing time', { exact: true }), '5000');
    assert.match(await fig.locator('[data-test=notice]').textContent(), /5\.000 s/);
    await fig.locator('[data-test=act]').click();
    for (let i = 0; i < 4; i++) await fig.locator('[data-test=step]').click();
    await bringIntoView(fig);
    await fig.locator('[data-test=play]').click();
    assert.equal(await playingOf(fig), 'true');
    await page.clock.runFor(1500);
    await fig.locator('[data-test=play]').click();
    assert.equal(await playingOf(fig), 'false');
    const status = await statusOf(fig);
    assert.ok(simulatedMs(status) > 0);
    // The address follows within 400 ms of an action (page clock); paused, nothing moves.
    await page.clock.runFor(1000);
    assert.equal(await statusOf(fig), status);

    await fig.locator('[data-test=copy-link]').click();
    const link = await fig.locator('[data-test=link]').inputValue();
    const url = new URL(link);
    assert.equal(url.origin + url.pathname, app.url);
    assert.equal(url.hash, '#hybrid');
    const query = url.searchParams;
    assert.equal(query.get('figure'), 'hybrid');
    // The run started with one action at 0 ms; C was slowed during it, then A acted again.
    const inputs = query.get('in').split(',');
    assert.equal(inputs.length, 3, `inputs: ${inputs}`);
    assert.match(inputs[0], /^0(@\d+)?$/);
    assert.match(inputs[1], /^0(@\d+)?~work-c~5000$/);
    assert.match(inputs[2], /^0(@\d+)?$/);
    assert.match(query.get('t'), /^\d+(\.\d+)?@\d+$/);
    const address = new URL(page.url());
    assert.equal(address.search, url.search, "the page's address holds the same run");
    assert.equal(address.hash, '#hybrid');
    const trace = await download(page, fig.locator('[data-test=export-trace]'));
    assert.equal(trace.name, 'callflow-hybrid.trace.json');
    const parsed = JSON.parse(trace.text);
    assert.equal(parsed.format, 'callflow-trace');
    assert.equal(parsed.version, 2);
    assert.equal(`?${parsed.run}`, url.search, 'the trace names the same run');

    // Opened fresh (motion allowed: t= alone must pause it), the link shows the same moment.
    const again = await openPage(browser, link);
    const fig2 = figureOn(again.page, 'hybrid');
    await fig2.locator('[data-test=status]').waitFor();
    assert.equal(await playingOf(fig2), 'false', 'a link opens paused');
    assert.equal(await statusOf(fig2), status);
    assert.equal(await fig2.locator('[data-test=narration]').textContent(), await fig.locator('[data-test=narration]').textContent());
    assert.equal(await fig2.getByLabel('C processing time', { exact: true }).inputValue(), '5000');
    assert.equal(await again.page.locator('[data-test=problems]').count(), 0);
    const trace2 = await download(again.page, fig2.locator('[data-test=export-trace]'));
    assert.equal(trace2.text, trace.text, 'the reopened run exports exactly the same trace');
    assert.deepEqual(again.errors, []);
    await again.context.close();
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('hostile addresses', () => {
  const noMarkup = (page) =>
    page.evaluate(() => {
      const all = [document, ...[...document.querySelectorAll('*')].map((e) => e.shadowRoot).filter(Boolean)];
      const count = (sel) => all.reduce((n, root) => n + root.querySelectorAll(sel).length, 0);
      return {
        pwned: window.__pwned,
        img: count('img'),
        b: count('b'),
        scripts: [...document.scripts].map((s) => s.src || s.textContent.slice(0, 60)),
        rawMarkup: document.documentElement.outerHTML.includes('<script>window') || document.documentElement.outerHTML.includes('<img src=x'),
      };
    });

  test('embed.html that names no figure, or a bad one, says so in the frame', async () => {
    for (const [query, said] of [
      ['', /No figure is named: add figure=sync, async, hybrid, graphql or log/],
      ['?figure=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E', /figure: “<script>window.__pwned=1<\/script>” is not one of sync, async, hybrid/],
    ]) {
      const { page, errors, context } = await openPage(browser, `${app.url}embed.html${query}`);
      const problems = page.locator('[data-callflow] [data-test=problems]');
      await problems.waitFor();
      assert.match(await problems.textContent(), said);
      assert.deepEqual(await noMarkup(page), { pwned: undefined, img: 0, b: 0, scripts: [`${app.url}callflow-embed.js`], rawMarkup: false });
      assert.deepEqual(errors, []);
      await context.close();
    }
  });

  test('bad values are listed as text, run nothing, and the figure keeps its defaults', async () => {
    const values = [
      ['figure', 'hybrid'],
      ['seed', '<script>window.__pwned=1</script>'],
      ['speed', '1e999'],
      ['t', 'NaN'],
      ['work-c', '-5'],
      ['link-a-b', 'Infinity'],
      ['controls', '<img src=x onerror="window.__pwned=1">'],
      ['in', 'abc'],
      ['zz', '<b>x</b>'],
    ];
    const query = values.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    const { page, errors, context } = await openPage(browser, `${app.url}?${query}`, { reducedMotion: 'reduce' });
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      d.dismiss();
    });
    const fig = figureOn(page, 'hybrid');
    const problems = fig.locator('[data-test=problems]');
    await problems.waitFor();
    assert.equal(await problems.getAttribute('role'), 'alert');
    const text = await problems.textContent();
    for (const needle of ['<script>window.__pwned=1</script>', '1e999', 'NaN', '-5', 'Infinity', '<img src=x onerror="window.__pwned=1">', 'abc', 'zz']) {
      assert.ok(text.includes(needle), `the problems name ${needle}: ${text}`);
    }
    assert.equal(await problems.locator('li').count(), 8, 'one sentence per bad option');
    assert.equal(await page.locator('header [data-test=problems]').count(), 0, 'the page itself is fine');
    const seen = await noMarkup(page);
    assert.equal(seen.pwned, undefined);
    assert.equal(seen.img, 0);
    assert.equal(seen.b, 0);
    assert.equal(seen.scripts.length, 1, `only the app's own script: ${seen.scripts}`);
    assert.equal(seen.rawMarkup, false);

    // Defaults: all the controls, C's own processing time, one action at 0 ms, opened at 0.
    for (const what of ['act', 'play', 'step', 'reset']) {
      assert.equal(await fig.locator(`[data-test=${what}]`).isVisible(), true, `${what} is shown`);
    }
    assert.equal(await fig.getByLabel('C processing time', { exact: true }).inputValue(), '1200');
    assert.equal(await fig.getByLabel('A ↔ B latency (HTTP)', { exact: true }).inputValue(), '60');
    assert.equal(await fig.locator('[data-test=speed-value]').textContent(), '×0.25');
    const start = await statusOf(fig);
    assert.match(start, /^Simulated time 0 ms · A waiting for B/);
    await fig.locator('[data-test=step]').click();
    const stepped = await statusOf(fig);
    assert.match(stepped, /^Simulated time 60 ms/);
    await fig.locator('[data-test=act]').click();
    assert.notEqual(await statusOf(fig), stepped, 'act changes the run');
    assert.equal(dialogs, 0);
    assert.equal((await noMarkup(page)).pwned, undefined);
    await screenshot(page, 'embed-hostile');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('an unknown figure gets a list at the top of the page and all three figures as they come', async () => {
    const { page, errors, context } = await openPage(
      browser,
      `${app.url}?figure=${encodeURIComponent('<script>x</script>')}&work-c=5000`,
      { reducedMotion: 'reduce' },
    );
    await figureOn(page, 'hybrid').locator('[data-test=status]').waitFor();
    const problems = page.locator('[data-test=problems]');
    assert.equal(await problems.count(), 1, 'one list, for the page');
    assert.equal(await page.locator('section.figure [data-test=problems]').count(), 0);
    assert.ok((await problems.textContent()).includes('<script>x</script>'));
    assert.equal(await problems.getAttribute('role'), 'alert');
    for (const slug of FIGURES) {
      assert.match(await statusOf(figureOn(page, slug)), /^Simulated time 0 ms/);
    }
    assert.equal(await figureOn(page, 'hybrid').getByLabel('C processing time', { exact: true }).inputValue(), '1200');
    const seen = await noMarkup(page);
    assert.equal(seen.scripts.length, 1);
    assert.equal(seen.rawMarkup, false);
    assert.equal(new URL(page.url()).search.includes('figure='), true, 'the address is left as it was');
    assert.deepEqual(errors, []);
    await context.close();
  });

  for (const [name, query, listed] of [
    ['a huge t', 'figure=hybrid&t=1e300', true],
    ['a t of a whole simulated day', 'figure=async&in=0,100,200&t=86400000', false],
    ['a t with a huge count', 'figure=sync&t=500@99999999999999999999', true],
    ['more inputs than allowed', `figure=async&in=${Array.from({ length: 1001 }, (_, i) => i).join(',')}`, true],
    ['a thousand actions at once', `figure=sync&in=${Array(1000).fill('0').join(',')}&t=200`, false],
    ['inputs out of order', 'figure=hybrid&in=900,0', true],
    ['a setting change to a node the figure lacks', 'figure=sync&in=0~work-c~5000', true],
    // The main page takes no caption from its address (only embeds do), and says so.
    ['a caption of markup and a long one', `figure=sync&caption=${encodeURIComponent('<img src=x onerror=alert(1)>'.repeat(200))}`, true],
    ['broken percent escapes', 'figure=sync&seed=%E0%A4%A&speed=%', true],
  ]) {
    test(`an address with ${name} never breaks the page`, async () => {
      const { page, errors, context } = await openPage(browser, `${app.url}?${query}`, { reducedMotion: 'reduce' });
      const slug = new URLSearchParams(query).get('figure');
      const fig = figureOn(page, slug);
      await fig.locator('[data-test=status]').waitFor();
      assert.equal(await fig.locator('[data-test=problems]').count(), listed ? 1 : 0, 'a problems list if and only if a value is bad');
      const before = await statusOf(fig);
      await fig.locator('[data-test=act]').click();
      await fig.locator('[data-test=step]').click();
      assert.notEqual(await statusOf(fig), before, 'the figure still works');
      const seen = await noMarkup(page);
      assert.equal(seen.img, 0);
      assert.equal(seen.scripts.length, 1);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }
});

describe('exports', () => {
  test('the Mermaid text parses with mermaid and shows the response to A before C is done', async () => {
    const { page, errors, context } = await openPage(browser, `${app.url}?figure=hybrid&work-c=5000&t=7000`, {
      reducedMotion: 'reduce',
    });
    const fig = figureOn(page, 'hybrid');
    await fig.locator('[data-test=status]').waitFor();
    assert.match(await statusOf(fig), /^Simulated time 7\.000 s/);
    const { name, text } = await download(page, fig.locator('[data-test=export-mermaid]'));
    assert.equal(name, 'callflow-hybrid.mmd');

    const parser = await openPage(browser, `${host.url}mermaid.html`);
    const parsed = await parser.page.evaluate(async (text) => {
      const result = await window.mermaid.parse(text);
      return { diagramType: result?.diagramType };
    }, text);
    assert.equal(parsed.diagramType, 'sequence');
    // And a broken diagram does not parse: the parser is really checking.
    const broken = await parser.page.evaluate(async (text) => {
      try {
        await window.mermaid.parse(text);
        return 'parsed';
      } catch {
        return 'refused';
      }
    }, text.replace('b-->>a:', 'b-->>>>a'));
    assert.equal(broken, 'refused');
    assert.deepEqual(parser.errors, []);
    await parser.context.close();

    const lines = text.split('\n');
    assert.equal(lines[0], 'sequenceDiagram');
    for (const who of ['a', 'b', 'broker', 'c']) {
      assert.ok(lines.some((l) => new RegExp(`^\\s+participant ${who}\\b`).test(l)), `participant ${who}`);
    }
    const response = lines.findIndex((l) => /^\s+b-->>a: .*HTTP response to m0/.test(l));
    const done = lines.findLastIndex((l) => /^\s+Note over c: .* work done$/.test(l));
    assert.ok(response > 0, 'there is a response to A');
    assert.ok(done > 0, 'C finishes its work');
    assert.ok(response < done, 'the response to A comes before C is done');
    assert.match(lines[done], /5\.390 s work done/);

    const arrows = lines
      .map((l) => /^\s+(\w+)(->>|-->>|-\)|--\))(\w+): /.exec(l))
      .filter(Boolean)
      .map(([, from, arrow, to]) => ({ from, arrow, to }));
    const brokered = arrows.filter((a) => a.from === 'broker' || a.to === 'broker');
    const http = arrows.filter((a) => a.from !== 'broker' && a.to !== 'broker');
    assert.ok(brokered.length >= 3 && http.length >= 2);
    for (const a of brokered) assert.match(a.arrow, /^--?\)$/, `${a.from}${a.arrow}${a.to} is asynchronous`);
    for (const a of http) assert.match(a.arrow, /^--?>>$/, `${a.from}${a.arrow}${a.to} is synchronous`);
    assert.ok(arrows.some((a) => a.from === 'a' && a.arrow === '->>' && a.to === 'b'), 'the request a->>b');
    assert.ok(arrows.some((a) => a.from === 'b' && a.arrow === '-)' && a.to === 'broker'), 'the publish b-)broker');
    assert.ok(lines.some((l) => /^\s+activate a$/.test(l)) && lines.some((l) => /^\s+deactivate a$/.test(l)));
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('the SVG export is a well-formed, styled picture of the diagram', async () => {
    const { page, errors, context } = await openPage(browser, `${app.url}?figure=async&in=0,100&t=300`, {
      reducedMotion: 'reduce',
    });
    const fig = figureOn(page, 'async');
    await fig.locator('[data-test=status]').waitFor();
    const { name, text } = await download(page, fig.locator('[data-test=export-svg]'));
    assert.equal(name, 'callflow-async.svg');
    const seen = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      const root = doc.documentElement;
      return {
        error: doc.querySelector('parsererror')?.textContent ?? null,
        root: root.localName,
        ns: root.namespaceURI,
        viewBox: root.getAttribute('viewBox'),
        style: root.querySelector('style')?.textContent.length ?? 0,
        nodes: [...root.querySelectorAll('[data-node]')].map((n) => n.getAttribute('data-node')),
        text: root.textContent,
      };
    }, text);
    assert.equal(seen.error, null, 'the SVG parses as XML');
    assert.equal(seen.root, 'svg');
    assert.equal(seen.ns, 'http://www.w3.org/2000/svg');
    assert.ok(seen.style > 100, 'it carries its styles');
    assert.ok(seen.nodes.length >= 3, `node boxes: ${seen.nodes}`);
    assert.match(seen.text, /Microservice A/);

    assert.match(seen.viewBox ?? '', /^0 0 \d+(\.\d+)? \d+(\.\d+)?$/, 'it has a viewBox');
    // And it draws: the browser decodes it as an image.
    const size = await page.evaluate(async (text) => {
      const img = new Image();
      img.src = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    }, text);
    assert.ok(size[0] > 0 && size[1] > 0, `the picture is ${size}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('trace import', () => {
  test('an exported trace imports into a fresh page and replays to its end; bad files change nothing', async () => {
    const from = await openPage(browser, `${app.url}?figure=hybrid&work-c=3000&in=0,400&t=2000`, { reducedMotion: 'reduce' });
    const source = figureOn(from.page, 'hybrid');
    await source.locator('[data-test=status]').waitFor();
    const endStatus = await statusOf(source);
    assert.match(endStatus, /^Simulated time 2\.000 s/);
    const trace = await download(from.page, source.locator('[data-test=export-trace]'));
    assert.deepEqual(from.errors, []);
    await from.context.close();
    const json = JSON.parse(trace.text);
    assert.equal(json.format, 'callflow-trace');
    assert.ok(json.events.length > 10);

    const { page, errors, context } = await openStill(app.url);
    const fig = figureOn(page, 'hybrid');
    await fig.locator('[data-test=status]').waitFor();
    await bringIntoView(fig);
    const c = fig.getByLabel('C processing time', { exact: true });
    assert.equal(await c.inputValue(), '1200');
    const notice = fig.locator('[data-test=share-notice]');
    const input = fig.locator('[data-test=import]');
    assert.equal(await input.getAttribute('type'), 'file');

    // Bad files first: each gets a sentence, and nothing moves.
    await page.clock.runFor(500);
    await fig.locator('[data-test=play]').click(); // pause, so that "unchanged" means something
    const before = await statusOf(fig);
    const edited = structuredClone(json);
    edited.events[6].at += 1000;
    for (const [file, body] of [
      ['malformed.trace.json', '{"format":"callflow-trace"'],
      ['edited.trace.json', JSON.stringify(edited)],
    ]) {
      await input.setInputFiles({ name: file, mimeType: 'application/json', buffer: Buffer.from(body) });
      await page.waitForFunction(
        (file) =>
          document.querySelector('[data-figure=hybrid] [data-test=share-notice]').textContent.includes(file),
        file,
      );
      assert.match(await notice.textContent(), /^Could not import/, `${file} is refused`);
      assert.equal(await statusOf(fig), before, `${file} left the run as it was`);
      assert.equal(await c.inputValue(), '1200');
      assert.equal(await playingOf(fig), 'false');
    }

    // The real file: replayed from 0 ms to where it ends, then paused by itself.
    await input.setInputFiles({ name: trace.name, mimeType: 'application/json', buffer: Buffer.from(trace.text) });
    await page.waitForFunction(() =>
      document.querySelector('[data-figure=hybrid] [data-test=share-notice]').textContent.startsWith('Imported'),
    );
    assert.match(await statusOf(fig), /^Simulated time 0 ms/, 'the replay starts at 0 ms');
    assert.equal(await playingOf(fig), 'true');
    assert.equal(await c.inputValue(), '3000', "the file's settings apply");
    const times = [0];
    for (let i = 0; i < 100 && (await playingOf(fig)) === 'true'; i++) {
      await page.clock.runFor(500);
      times.push(simulatedMs(await statusOf(fig)));
    }
    assert.equal(await playingOf(fig), 'false', 'the replay paused by itself');
    assert.deepEqual([...times].sort((x, y) => x - y), times, 'time only goes forward');
    assert.ok(times.length > 5, `it played for a while: ${times}`);
    assert.equal(await statusOf(fig), endStatus, "it stops where the file's run ends");
    await page.clock.runFor(2000);
    assert.equal(await statusOf(fig), endStatus, 'and stays there');

    // The re-exported trace is the imported one.
    const again = await download(page, fig.locator('[data-test=export-trace]'));
    assert.equal(again.text, trace.text);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('the book', () => {
  test('patterns.html mounts its five figures and they respond', async (t) => {
    assert.ok(existsSync(join(BOOK, 'patterns.html')), 'no docs/book: run scripts/book');
    const book = await serveDist(BOOK);
    t.after(() => book.close());
    const { page, errors, context } = await openPage(browser, `${book.url}patterns.html`, { reducedMotion: 'reduce' });
    await page.waitForFunction(() => {
      const hosts = document.querySelectorAll('[data-callflow]');
      return hosts.length === 5 && [...hosts].every((h) => h.shadowRoot?.querySelector('section.figure [data-test=status]'));
    });
    const slugs = await page.evaluate(() =>
      [...document.querySelectorAll('[data-callflow]')].map((h) => h.shadowRoot.querySelector('section.figure').dataset.figure),
    );
    assert.deepEqual(slugs, [...FIGURES, 'graphql', 'log']);
    const fig = page.locator('[data-callflow=async] section.figure');
    const before = await statusOf(fig);
    await fig.locator('[data-test=act]').click();
    await fig.locator('[data-test=step]').click();
    const after = await statusOf(fig);
    assert.notEqual(after, before);
    assert.doesNotMatch(after, /^Simulated time 0 ms/);
    const loaders = await page.evaluate(() => [...document.scripts].map((s) => s.src).filter((s) => /callflow-embed/.test(s)));
    assert.equal(loaders.length, 1);
    // A figure's link opens embed.html beside the loader, which the book carries too.
    await fig.locator('[data-test=copy-link]').click();
    const link = await fig.locator('[data-test=link]').inputValue();
    assert.match(link, /\/callflow\/embed\.html\?figure=async&/);
    const opened = await openPage(browser, link, { reducedMotion: 'reduce' });
    const alone = opened.page.locator('[data-callflow] section.figure[data-figure=async]');
    await alone.locator('[data-test=status]').waitFor();
    assert.equal(await statusOf(alone), after, 'the link opens the same moment');
    assert.deepEqual(opened.errors, []);
    await opened.context.close();
    await page.waitForLoadState('networkidle');
    await screenshot(page, 'embed-book-patterns');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a figure's text keeps its size under the book's root font size (62.5%)", async (t) => {
    // mdBook sets html { font-size: 62.5% }. A mounted figure should look the same on any
    // host whose body text is the same size: its own sizes must not follow the host's root.
    const book = await serveDist(BOOK);
    t.after(() => book.close());
    const sizes = async (url, hostSelector) => {
      const { page, errors, context } = await openPage(browser, url, { reducedMotion: 'reduce' });
      await page.locator(`${hostSelector} section.figure [data-test=status]`).waitFor();
      const found = await page.evaluate((sel) => {
        const root = document.querySelector(sel).shadowRoot;
        const size = (s) => getComputedStyle(root.querySelector(s)).fontSize;
        return {
          rootFont: getComputedStyle(document.documentElement).fontSize,
          hostFont: getComputedStyle(document.querySelector(sel)).fontSize,
          title: size('h2'),
          status: size('[data-test=status]'),
          button: size('[data-test=act]'),
        };
      }, hostSelector);
      assert.deepEqual(errors, []);
      await context.close();
      return found;
    };
    const plain = await sizes(`${host.url}three.html`, '#three');
    const inBook = await sizes(`${book.url}patterns.html`, '[data-callflow=hybrid]');
    assert.equal(plain.rootFont, '16px');
    assert.equal(inBook.rootFont, '10px', "the book's root font size");
    assert.equal(inBook.hostFont, plain.hostFont, 'both hosts give the figure 16px text');
    assert.deepEqual(
      { title: inBook.title, status: inBook.status, button: inBook.button },
      { title: plain.title, status: plain.status, button: plain.button },
      "the figure's sizes do not depend on the host's root font size",
    );
  });
});

describe('measurements for the lead (printed, not asserted)', () => {
  test('time to the first interactive mounted figure, and the sizes of the embed files', async () => {
    const ready = await timeToReady(browser, `${host.url}three.html`);
    console.log(`[measure] callflow-ready on the three-figure fixture page: ${ready.readyAt.toFixed(1)} ms after navigation start (DOMContentLoaded ${ready.domContentLoaded.toFixed(1)} ms; first figure interactive: ${ready.interactive})`);
    for (const row of await embedSizes(DIST)) {
      console.log(`[measure] ${row.file}: ${row.raw} bytes raw, ${row.gzip} gzip, ${row.brotli} brotli`);
    }
    assert.ok(ready.interactive);
  });
});
