// A static file server, bound to 127.0.0.1 only, with the right MIME type for .wasm.
// `node scripts/serve.mjs DIR PORT` serves DIR until stopped; the e2e tests import serveDir,
// or serveMounts for several folders under their own URL prefixes, on a free port.

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves several folders on one 127.0.0.1 server at `port` (0: any free port): `mounts` maps
 * a URL prefix ending in '/' (such as '/callflow/') to a folder; the longest matching prefix
 * wins. A path that names a folder gets its index.html; nothing outside the folders is served.
 * Returns { url, close } where url ends in '/'.
 */
export async function serveMounts(mounts, port = 0) {
  const table = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix, resolve(dir)])
    .sort((x, y) => y[0].length - x[0].length);
  const fileFor = (urlPath) => {
    let path;
    try {
      path = decodeURIComponent(urlPath.split('?')[0]);
    } catch {
      return null;
    }
    const found = table.find(([prefix]) => path.startsWith(prefix));
    if (!found) return null;
    const [prefix, root] = found;
    const file = resolve(root, '.' + normalize('/' + path.slice(prefix.length)));
    return file === root || file.startsWith(root + sep) ? file : null;
  };
  const server = createServer(async (req, res) => {
    let file = fileFor(req.url ?? '/');
    try {
      if (file === null) throw new Error('not served');
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
    server.listen(port, '127.0.0.1', ok);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Serves `dir` at the root, on 127.0.0.1 at `port` (0: any free port). */
export const serveDir = (dir, port = 0) => serveMounts({ '/': dir }, port);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir = 'dist', port = '8080'] = process.argv.slice(2);
  const { url } = await serveDir(dir, Number(port));
  console.log(`\n  serving ${dir} at  ${url}\n`);
}
