// The Hub client against a server on 127.0.0.1 that is busy or broken (issue 22): 429 with Retry-After and single
// 5xx answers are retried with backoff (Retry-After honoured, capped); a 1 MiB response header is reported as what it
// is, not as "cannot reach … set HF_HUB_OFFLINE"; a revision with a NUL or 300 characters is refused before any
// request goes out.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HubArgumentError, HubClientOptions, hfHubDownload } from '../../../lib/node/hub/hub';
import { MAX_RETRY_AFTER_MS, parseRetryAfter, retryDelayMs } from '../../../lib/node/hub/retry-policy';
import { FakeHub } from './hub-server';

const REPO = 'org/busy';
const FILE = 'config.json';
const CONTENT = new Uint8Array(Buffer.from('{"sample_size": 32}'));

let hub: FakeHub;
let cacheDir: string;
const options = (extra: Partial<HubClientOptions> = {}): HubClientOptions => ({ endpoint: hub.url, cacheDir, env: {}, retryDelayMs: 10, timeoutMs: 10_000, ...extra });

beforeEach(async () => {
  hub = new FakeHub();
  hub.addRepo(REPO, { [FILE]: CONTENT }, []);
  await hub.start();
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-retry-'));
});
afterEach(async () => {
  await hub.stop();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

test('a 429 with Retry-After: 1 is retried after about a second, then the file downloads', async () => {
  hub.failures.push({ status: 429, headers: { 'Retry-After': '1' } });
  const started = Date.now();
  const file = await hfHubDownload(REPO, FILE, options());
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  expect(new Uint8Array(fs.readFileSync(file))).toEqual(CONTENT);
  expect(hub.requests(FILE, 'HEAD').length).toBe(2);
});

test('single 500, 502, 503 answers are retried with backoff', async () => {
  hub.failures.push({ status: 500 }, { status: 502 }, { status: 503 });
  const file = await hfHubDownload(REPO, FILE, options({ retries: 3 }));
  expect(new Uint8Array(fs.readFileSync(file))).toEqual(CONTENT);
});

test('a server that keeps answering 503 fails after `retries` retries with the status, not at once and not forever', async () => {
  for (let i = 0; i < 10; i++) hub.failures.push({ status: 503 });
  const error = await hfHubDownload(REPO, FILE, options({ retries: 2 })).catch((e: Error) => e);
  expect((error as Error).message).toMatch(/503/);
  expect(hub.log.length).toBe(3);
});

test('Retry-After is parsed as seconds or an HTTP date and capped', () => {
  expect(parseRetryAfter('2')).toBe(2000);
  expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
  expect(parseRetryAfter('soon')).toBeUndefined();
  expect(retryDelayMs(429, '999999', 0, 1000)).toBe(MAX_RETRY_AFTER_MS);
  expect(retryDelayMs(503, null, 2, 1000)).toBe(4000);
  expect(retryDelayMs(404, '1', 0, 1000)).toBeNull();
});

test('a 1 MiB response header is reported as oversized headers, not as an unreachable Hub', async () => {
  hub.hugeHeaderBytes = 1024 * 1024;
  const error = await hfHubDownload(REPO, FILE, options({ retries: 0 })).catch((e: Error) => e);
  expect((error as Error).message).toContain('response headers larger than');
  expect((error as Error).message).not.toMatch(/cannot reach|HF_HUB_OFFLINE/);
});

test.each([
  ['a NUL', 'main\u0000evil'],
  ['300 characters', 'r'.repeat(300)],
])('a revision with %s is refused before any request', async (_what, revision) => {
  const error = await hfHubDownload(REPO, FILE, options({ revision })).catch((e: Error) => e);
  expect(error).toBeInstanceOf(HubArgumentError);
  expect((error as Error).message).toContain('is not a branch, tag or commit name');
  expect(hub.log).toEqual([]);
});
