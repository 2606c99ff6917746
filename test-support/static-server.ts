import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';

/** Content types the demo needs; `application/wasm` lets tfjs use WebAssembly.instantiateStreaming. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

export interface StaticServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves folders read-only on 127.0.0.1 at an ephemeral port: `mounts` maps a URL prefix (`/dist/browser/`) to a
 * folder. Anything outside the mounts, or escaping them with `..`, is a 404. For tests only: no caching, no
 * directory listings, GET and HEAD only.
 */
export async function startStaticServer(mounts: Record<string, string>): Promise<StaticServer> {
  const entries = Object.entries(mounts).map(([prefix, dir]) => {
    if (!prefix.startsWith('/') || !prefix.endsWith('/')) {
      throw new Error(`startStaticServer: mount prefix '${prefix}' must start and end with '/'`);
    }
    return [prefix, path.resolve(dir)] as const;
  });
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const mount = entries.find(([prefix]) => urlPath.startsWith(prefix));
    const file = mount && path.resolve(mount[1], '.' + urlPath.slice(mount[0].length - 1));
    const inside = mount && file && (file === mount[1] || file.startsWith(mount[1] + path.sep));
    if (!inside || (req.method !== 'GET' && req.method !== 'HEAD') || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${urlPath}`);
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': fs.statSync(file).size,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  // Node closes idle keep-alive sockets after 5 s by default, racing a client that reuses one (undici then fails
  // with "fetch failed"): keep them for the length of a test file instead.
  server.keepAliveTimeout = 10 * 60 * 1000;
  server.headersTimeout = server.keepAliveTimeout + 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
