// A fake Hugging Face Hub on 127.0.0.1 (ephemeral port) for the download tests. It answers like the real Hub:
// `HEAD|GET /<repo>/resolve/<revision>/<path>`; small files answered directly with a git-sha1 ETag; LFS files
// (weights) answered by a 302 to `/lfs/<sha256>` with X-Linked-Etag / X-Linked-Size; X-Repo-Commit everywhere;
// X-Error-Code on 404 / 401; Range requests on the LFS route. Faults can be injected per test.
import { createHash } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';

export interface HubRequest {
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

export interface FakeRepo {
  /** path in the repo → content */
  files: Record<string, Uint8Array>;
  /** paths stored with LFS (served through the /lfs/ redirect, ETag = sha256) */
  lfs: Set<string>;
  commit: string;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function gitBlobSha1(data: Uint8Array): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/** Sends `data` in slices of `slice` bytes every `intervalMs`, stopping when it is sent or the client leaves. */
function trickle(res: http.ServerResponse, data: Uint8Array, slice: number, intervalMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (at >= data.length || res.destroyed) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(Buffer.from(data.subarray(at, at + slice)));
    at += slice;
  }, intervalMs);
  res.on('close', () => clearInterval(timer));
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  readonly log: HubRequest[] = [];
  /** sha256 → bytes after which the next GET of that blob drops the connection (once per entry). */
  readonly dropAfter = new Map<string, number>();
  /** sha256 → bytes after which the next GET of that blob stalls: the connection stays open, silent (once). */
  readonly stallAfter = new Map<string, number>();
  /** sha256s served with one byte flipped. */
  readonly corrupt = new Set<string>();
  /** Ignore Range headers (answer 200 with the whole body). */
  ignoreRange = false;
  /** path → the ETag header sent for that (non-LFS) file instead of its git sha1 (hostile servers). */
  readonly etagOverride = new Map<string, string>();
  /** Non-LFS paths answered without Content-Length (chunked GET, no size on HEAD). */
  readonly undeclaredSize = new Set<string>();
  /** sha256 → ms between single bytes: that blob is sent one byte at a time (a drip), until the client leaves. */
  readonly drip = new Map<string, number>();
  /** Answers given first, one per request, before serving normally (429 with Retry-After, a passing 503, …). */
  readonly failures: { status: number; headers?: Record<string, string> }[] = [];
  /** When set, every answer carries a header of this many bytes (a server that floods its headers). */
  hugeHeaderBytes: number | undefined;
  /** LFS blobs are sent at about this many bytes per second (64 KiB slices), when set. */
  throttleBytesPerSecond: number | undefined;
  private server: http.Server | undefined;
  private readonly sockets = new Set<import('net').Socket>();

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  addRepo(repoId: string, files: Record<string, Uint8Array>, lfs: string[], commit = createHash('sha1').update(repoId).digest('hex')): FakeRepo {
    const repo = { files, lfs: new Set(lfs), commit };
    this.repos.set(repoId, repo);
    return repo;
  }

  /** Requests whose URL contains `part`, optionally of one method. */
  requests(part: string, method?: string): HubRequest[] {
    return this.log.filter((r) => r.url.includes(part) && (method === undefined || r.method === method));
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private blob(sha: string): Uint8Array | undefined {
    for (const repo of this.repos.values()) {
      for (const path of repo.lfs) if (sha256Hex(repo.files[path]) === sha) return repo.files[path];
    }
    return undefined;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    this.log.push({ method: req.method ?? '', url, range: req.headers.range, authorization: req.headers.authorization });
    const failure = this.failures.shift();
    if (failure !== undefined) {
      res.writeHead(failure.status, failure.headers ?? {}).end();
      return;
    }
    if (this.hugeHeaderBytes !== undefined) res.setHeader('X-Padding', 'x'.repeat(this.hugeHeaderBytes));
    const head = req.method === 'HEAD';
    const lfs = /^\/lfs\/([0-9a-f]{64})$/.exec(url);
    if (lfs) return this.serveBlob(lfs[1], req, res);
    const resolve = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (!resolve) {
      res.writeHead(404).end();
      return;
    }
    const [, repoId, revision, encodedPath] = resolve;
    const repo = this.repos.get(repoId);
    if (!repo) {
      res.writeHead(401, { 'X-Error-Code': 'RepoNotFound' }).end();
      return;
    }
    if (decodeURIComponent(revision) !== 'main' && revision !== repo.commit) {
      res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound' }).end();
      return;
    }
    const path = encodedPath.split('/').map(decodeURIComponent).join('/');
    const data = repo.files[path];
    if (data === undefined) {
      res.writeHead(404, { 'X-Error-Code': 'EntryNotFound', 'X-Repo-Commit': repo.commit }).end();
      return;
    }
    if (repo.lfs.has(path)) {
      const sha = sha256Hex(data);
      res.writeHead(302, {
        Location: `${this.url}/lfs/${sha}`,
        'X-Repo-Commit': repo.commit,
        'X-Linked-Etag': `"${sha}"`,
        'X-Linked-Size': String(data.length),
        ETag: `W/"${gitBlobSha1(Buffer.from('pointer'))}"`,
        'Content-Length': '0',
      });
      res.end();
      return;
    }
    const etag = this.etagOverride.get(path) ?? `"${gitBlobSha1(data)}"`;
    const length: Record<string, string> = this.undeclaredSize.has(path) ? {} : { 'Content-Length': String(data.length) };
    res.writeHead(200, { 'X-Repo-Commit': repo.commit, ETag: etag, ...length });
    if (head) {
      res.end();
      return;
    }
    if (this.undeclaredSize.has(path)) {
      // Chunked, in 1 MiB slices, stopping as soon as the client goes away.
      let at = 0;
      const next = (): void => {
        if (at >= data.length || res.destroyed) return void res.end();
        const slice = Buffer.from(data.subarray(at, at + (1 << 20)));
        at += slice.length;
        if (res.write(slice)) setImmediate(next);
        else res.once('drain', next);
      };
      res.on('close', () => (at = data.length));
      next();
      return;
    }
    res.end(Buffer.from(data));
  }

  private serveBlob(sha: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    let data = this.blob(sha);
    if (data === undefined) {
      res.writeHead(404).end();
      return;
    }
    if (this.corrupt.has(sha)) {
      data = data.slice();
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !this.ignoreRange) {
      start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${data.length - 1}/${data.length}`, 'Content-Length': String(data.length - start) });
    } else {
      res.writeHead(200, { 'Content-Length': String(data.length) });
    }
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const drop = this.dropAfter.get(sha);
    if (drop !== undefined) {
      this.dropAfter.delete(sha);
      // Send part of the body, then cut the connection (as a flaky network would).
      // A graceful close (FIN) so that the bytes sent do arrive; the client sees a body shorter than Content-Length.
      res.write(Buffer.from(data.subarray(start, start + drop)), () => res.socket?.end());
      return;
    }
    const stall = this.stallAfter.get(sha);
    if (stall !== undefined) {
      this.stallAfter.delete(sha);
      res.write(Buffer.from(data.subarray(start, start + stall))); // ...and nothing more until stop()
      return;
    }
    const drip = this.drip.get(sha);
    if (drip !== undefined) return trickle(res, data.subarray(start), 1, drip);
    if (this.throttleBytesPerSecond !== undefined) return trickle(res, data.subarray(start), 1 << 16, (1000 * (1 << 16)) / this.throttleBytesPerSecond);
    res.end(Buffer.from(data.subarray(start)));
  }
}
