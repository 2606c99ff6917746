import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { HubProgress } from '../../loading/load-options';
import { FileLock, FileLockOptions } from '../fs/file-lock';
import { HubError, HubFileTooLargeError, HubIntegrityError, HubResponseError, HubSlowDownloadError } from './errors';
import { HubSession, networkError, networkErrorCode } from './session';

/**
 * One file from the Hub into one blob of the cache:
 *
 * 1. Take the blob's lock file (so that N processes on one cache download it once; see file-lock.ts); if the blob
 *    appeared meanwhile, done.
 * 2. `GET` into `<blob>.incomplete`, resuming with `Range: bytes=<have>-` (206 appends, 200 restarts); at most
 *    `limit` bytes (announced or not); abandoned when the average rate stays under the minimum for the window.
 *    Interruptions are retried (`retries`, doubling pauses).
 * 3. Verify the size and the ETag: sha256 (64 hex digits, LFS files) or git's blob sha1 (40, the others).
 * 4. Rename to the blob (atomic), release the lock.
 */

/** What to download and where to put it. */
export interface BlobDownload {
  repoId: string;
  /** The file's path in the repository (for messages and progress). */
  file: string;
  /** Where to GET (the resolve URL, or the CDN's the Hub redirected to). */
  url: string;
  /** The hex ETag: 64 digits = sha256 of the content, 40 = git blob sha1. */
  etag: string;
  /** The size the Hub announced, if it did. */
  size: number | undefined;
  /** The most bytes the file may have (undefined: no limit besides `size`). */
  limit: number | undefined;
  blob: string;
  incomplete: string;
  lockFile: string;
}

export interface BlobDownloadHooks {
  onProgress?: (progress: HubProgress) => void;
  /** Lock timing (tests); defaults in file-lock.ts. */
  lock?: FileLockOptions;
}

/**
 * The rate check: fed (time, total bytes) samples, says when the bytes of the last `windowMs` average under
 * `minBytesPerSecond`. Pure (time is passed in), so a 143 MB download at a steady 12 KB/s and a 1-byte drip can be
 * checked without waiting.
 *
 * ```ts
 * const rate = new RateWindow(10_000, 30_000, 0);
 * rate.tooSlow(30_000, 15); // true: 15 bytes in 30 s
 * ```
 */
export class RateWindow {
  private readonly samples: Array<{ t: number; bytes: number }>;

  constructor(private readonly minBytesPerSecond: number, private readonly windowMs: number, start: number, startBytes = 0) {
    this.samples = [{ t: start, bytes: startBytes }];
  }

  /** The average rate over the last window, once a whole window has passed (else undefined). */
  rate(now: number, bytes: number): number | undefined {
    const from = now - this.windowMs;
    // Keep the newest sample at or before the window's start (the reference) and everything after it.
    while (this.samples.length > 1 && this.samples[1].t <= from) this.samples.shift();
    const reference = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (now > last.t && bytes !== last.bytes) this.samples.push({ t: now, bytes });
    if (reference.t > from) return undefined;
    return ((bytes - reference.bytes) * 1000) / (now - reference.t);
  }

  tooSlow(now: number, bytes: number): boolean {
    const rate = this.rate(now, bytes);
    return rate !== undefined && rate < this.minBytesPerSecond;
  }
}

async function fileDigest(file: string, algorithm: 'sha256' | 'sha1', prefix?: string): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix !== undefined) hash.update(prefix);
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Size, then the ETag as a checksum. A mismatch deletes the file. */
async function verify(d: BlobDownload): Promise<void> {
  const actualSize = fs.statSync(d.incomplete).size;
  const refuse = (what: string): never => {
    fs.rmSync(d.incomplete, { force: true });
    throw new HubIntegrityError(d.repoId, d.file, what);
  };
  if (d.size !== undefined && actualSize !== d.size) refuse(`it has ${actualSize} bytes, the server announced ${d.size}`);
  if (d.etag.length === 64) {
    const sha256 = await fileDigest(d.incomplete, 'sha256');
    if (sha256 !== d.etag) refuse(`its sha256 is ${sha256}, the Hub says ${d.etag}`);
  } else {
    const sha1 = await fileDigest(d.incomplete, 'sha1', `blob ${actualSize}\0`);
    if (sha1 !== d.etag) refuse(`its git blob sha1 is ${sha1}, the Hub says ${d.etag}`);
  }
}

/** One GET into the `.incomplete` file (appending after a 206). Network trouble is thrown as retryable. */
async function fetchInto(session: HubSession, d: BlobDownload, lock: FileLock, hooks: BlobDownloadHooks): Promise<void> {
  let have = sizeOf(d.incomplete);
  if ((d.size !== undefined && have > d.size) || (d.limit !== undefined && have > d.limit)) {
    fs.rmSync(d.incomplete, { force: true });
    have = 0;
  }
  if (d.size !== undefined && have === d.size) return;
  const range: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  const answer = await session.request(d.url, 'GET', { headers: range, hostRelativeOnly: false });
  const { response, url } = answer;
  let stopped: Error | undefined;
  let rateTimer: NodeJS.Timeout | undefined;
  try {
    let append = false;
    if (response.status === 206) {
      const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
      append = match !== null && Number(match[1]) === have;
      if (!append) {
        fs.rmSync(d.incomplete, { force: true });
        throw networkError(`the server resumed at ${response.headers.get('content-range')}, not at byte ${have}`);
      }
    } else if (response.status === 416 && have > 0) {
      // Our partial file does not fit the server's: start over.
      fs.rmSync(d.incomplete, { force: true });
      throw networkError('the server refused to resume (HTTP 416)');
    } else if (response.status !== 200) {
      throw new HubResponseError(url, response.status, response.statusText, ` while downloading ${d.file}`);
    }
    let loaded = append ? have : 0;
    const rateWindow = new RateWindow(session.limits.minBytesPerSecond, session.limits.slowWindowMs, performance.now(), loaded);
    rateTimer = setInterval(() => {
      const rate = rateWindow.rate(performance.now(), loaded);
      if (rate !== undefined && rate < session.limits.minBytesPerSecond) {
        stopped = new HubSlowDownloadError(d.file, url, rate, session.limits.minBytesPerSecond, session.limits.slowWindowMs, sizeOf(d.incomplete));
        answer.abort(stopped);
      }
    }, Math.min(1000, session.limits.slowWindowMs / 4));
    const handle = await fs.promises.open(d.incomplete, append ? 'a' : 'w');
    try {
      hooks.onProgress?.({ file: d.file, loaded, total: d.size, cached: false });
      if (response.body !== null) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          answer.touch();
          loaded += chunk.length;
          if (d.size !== undefined && loaded > d.size) {
            fs.rmSync(d.incomplete, { force: true });
            throw new HubIntegrityError(d.repoId, d.file, `the server sent more than the ${d.size} bytes it announced`);
          }
          if (d.limit !== undefined && loaded > d.limit) {
            fs.rmSync(d.incomplete, { force: true });
            throw new HubFileTooLargeError(d.file, url, d.limit, loaded, false);
          }
          lock.assertHeld();
          await handle.write(chunk);
          hooks.onProgress?.({ file: d.file, loaded, total: d.size, cached: false });
        }
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
    if (d.size !== undefined && loaded < d.size) throw networkError(`the connection closed after ${loaded} of ${d.size} bytes`);
  } catch (err) {
    throw stopped ?? err;
  } finally {
    clearInterval(rateTimer);
    answer.done();
    await response.body?.cancel().catch(() => undefined);
  }
}

/**
 * Downloads `d` into its blob (see the module comment). Returns false when another process had already put the
 * blob there (nothing downloaded).
 */
export async function downloadBlob(session: HubSession, d: BlobDownload, hooks: BlobDownloadHooks = {}): Promise<boolean> {
  if (d.size !== undefined && d.limit !== undefined && d.size > d.limit) throw new HubFileTooLargeError(d.file, d.url, d.limit, d.size, true);
  const lock = await FileLock.acquire(d.lockFile, hooks.lock);
  try {
    if (fs.existsSync(d.blob)) return false;
    fs.mkdirSync(path.dirname(d.incomplete), { recursive: true });
    for (let attempt = 0; ; attempt++) {
      try {
        await fetchInto(session, d, lock, hooks);
        break;
      } catch (err) {
        const code = networkErrorCode(err);
        if (code === undefined || err instanceof HubError) throw err;
        const have = sizeOf(d.incomplete);
        if (attempt >= session.retries) {
          throw new HubError(
            `download of ${d.repoId}/${d.file} interrupted after ${have}${d.size !== undefined ? ` of ${d.size}` : ''} bytes ` +
              `(${code}: ${(err as Error).message}); run again to resume from there`,
          );
        }
        await sleep(session.retryDelayMs * 2 ** attempt);
      }
    }
    await verify(d);
    lock.assertHeld();
    fs.renameSync(d.incomplete, d.blob);
    return true;
  } finally {
    lock.release();
  }
}
