// Numbers for embedding callflow, printed, never asserted: how long a host page takes until
// its mounted figures are interactive, and how big the files are that the loader fetches.
//
//   node e2e/measure-embed.mjs [runs]     (default 5 runs; against dist/)
//
// embed.test.mjs prints one run of the same measurements.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { DIST, ROOT, launchBrowser, serveMounts } from './harness.mjs';

export const EMBED_FILES = ['callflow-embed.js', 'callflow.js', 'callflow_bg.wasm'];

/** Raw, gzip (level 9) and brotli (quality 11) sizes, in bytes, of the files the loader fetches. */
export async function embedSizes(dir = DIST) {
  const rows = [];
  for (const file of EMBED_FILES) {
    const body = await readFile(join(dir, file));
    rows.push({
      file,
      raw: body.length,
      gzip: gzipSync(body, { level: 9 }).length,
      brotli: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    });
  }
  return rows;
}

/**
 * Opens `url` (a page that records `callflowReadyAt`, as e2e/fixtures/three.html does) in a
 * fresh context and returns when `callflow-ready` fired, in ms from navigation start, with the
 * page's DOMContentLoaded time, whether the first figure's buttons were there at that moment,
 * and what the browser says it fetched for the embed files.
 */
export async function timeToReady(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.callflowReadyAt !== undefined);
    return await page.evaluate((files) => {
      const [nav] = performance.getEntriesByType('navigation');
      const resources = performance
        .getEntriesByType('resource')
        .filter((r) => files.some((f) => r.name.endsWith(`/${f}`)))
        .map((r) => ({
          file: r.name.split('/').pop(),
          transferSize: r.transferSize,
          decodedBodySize: r.decodedBodySize,
          start: r.startTime,
          end: r.responseEnd,
        }));
      return {
        readyAt: window.callflowReadyAt,
        interactive: window.callflowReadyInteractive,
        domContentLoaded: nav.domContentLoadedEventEnd,
        resources,
      };
    }, EMBED_FILES);
  } finally {
    await context.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.argv[2] ?? 5);
  const server = await serveMounts({ '/': join(ROOT, 'e2e', 'fixtures'), '/callflow/': DIST });
  const browser = await launchBrowser();
  try {
    const times = [];
    for (let i = 0; i < runs; i++) {
      const r = await timeToReady(browser, `${server.url}three.html`);
      times.push(r.readyAt);
      console.log(
        `run ${i + 1}: callflow-ready at ${r.readyAt.toFixed(1)} ms (DOMContentLoaded ${r.domContentLoaded.toFixed(1)} ms, first figure interactive: ${r.interactive}); ` +
          r.resources.map((x) => `${x.file} ${x.transferSize} B in ${(x.end - x.start).toFixed(1)} ms`).join(', '),
      );
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`median callflow-ready: ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms over ${runs} runs (headless Chromium, 127.0.0.1, no throttling)`);
    for (const row of await embedSizes(DIST)) {
      console.log(`${row.file}: ${row.raw} B raw, ${row.gzip} B gzip -9, ${row.brotli} B brotli -11`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}
