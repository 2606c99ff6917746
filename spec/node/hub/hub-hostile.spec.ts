// Hostile and careless Hub servers (issue 10, defects 6 and 7 and the Hub part of 9). Run against the client before
// the split (hub.ts at 168fac0, the new error names aliased to HubError), every test of the first two blocks failed
// (it succeeded where it must refuse, hung, or threw an unnamed error) except "every blob is verified", a guard of
// what already held; the rate-rule block tests the new pure RateWindow. The servers are FakeHub on 127.0.0.1 or an in-process fetch stub; every server loop ends when the client
// leaves (bounded), and every test has its own timeout.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  HubClientOptions,
  HubEndpointError,
  HubFileTooLargeError,
  HubMetadataError,
  HubRedirectError,
  HubRepoFileError,
  HubSlowDownloadError,
  hfHubDownload,
  snapshotDownload,
} from '../../../lib/node/hub/hub';
import { RateWindow } from '../../../lib/node/hub/download';
import { FakeHub, gitBlobSha1, sha256Hex } from './hub-server';
import { fixturePath } from '../../helpers/fixtures';

const REPO = 'org/hostile';
const WEIGHTS = 'unet/diffusion_pytorch_model.safetensors';
const text = (value: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(value)));
const COMMIT = 'c'.repeat(40);

function pipelineRepo(): Record<string, Uint8Array> {
  return {
    'model_index.json': text({ _class_name: 'DDPMPipeline', scheduler: ['diffusers', 'DDPMScheduler'], unet: ['diffusers', 'UNet2DModel'] }),
    'scheduler/scheduler_config.json': text({ _class_name: 'DDPMScheduler', num_train_timesteps: 1000 }),
    'unet/config.json': new Uint8Array(fs.readFileSync(fixturePath('tiny-unet', 'config.json'))),
    [WEIGHTS]: new Uint8Array(fs.readFileSync(fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors'))),
  };
}

/** Every path under `cacheDir` (files and folders), relative, '/'-separated. */
function listTree(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = `${prefix}${e.name}`;
    return e.isDirectory() ? [rel, ...listTree(path.join(dir, e.name), `${rel}/`)] : [rel];
  });
}

/** The paths the Hub client may write for `repoId` (docs/checkpoints.md, "Hub cache"), and their parents. */
function outsideRoots(cacheDir: string, repoId: string): string[] {
  const flat = repoId.split('/').join('--');
  const roots = [`models--${flat}`, `tfjs-diffusers/${flat}`, `.locks/models--${flat}`, `.locks/tfjs-diffusers/${flat}`];
  const parents = new Set(['tfjs-diffusers', '.locks', '.locks/tfjs-diffusers']);
  return listTree(cacheDir).filter((p) => !parents.has(p) && !roots.some((root) => p === root || p.startsWith(`${root}/`)));
}

/** A fetch stub for an https Hub and CDN that records what each request carried. */
interface Seen {
  method: string;
  url: string;
  authorization: string | null;
}
function stubHub(routes: (url: URL, method: string) => Response): { fetchImpl: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fetchImpl = (async (input: string | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    seen.push({ method, url: url.toString(), authorization: new Headers(init?.headers).get('authorization') });
    if (seen.length > 50) throw new Error('more than 50 requests: the client loops');
    return routes(url, method);
  }) as typeof fetch;
  return { fetchImpl, seen };
}

describe('a hostile or careless Hub', () => {
  let hub: FakeHub;
  let tmp: string;
  let cacheDir: string;
  const options = (): HubClientOptions => ({ endpoint: hub.url, cacheDir, env: {}, retryDelayMs: 0, timeoutMs: 10000 });

  beforeEach(async () => {
    hub = new FakeHub();
    hub.addRepo(REPO, pipelineRepo(), [WEIGHTS], COMMIT);
    await hub.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-hostile-'));
    cacheDir = path.join(tmp, 'hub');
  });
  afterEach(async () => {
    await hub.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  // Defect 6: an ETag of "." made blobs/ a file and every snapshot file model_index.json's bytes; ".." with a
  // commit revision wrote <cache>/models--org--name.incomplete and renamed it over the repository folder.
  test.each([
    ['"."', 'main'],
    ['".."', COMMIT],
    ['"abc"', 'main'],
    ['W/"../../x"', 'main'],
    [`"${'g'.repeat(40)}"`, 'main'],
  ])('ETag %s (revision %s) is refused with a named error; nothing is written outside the repository roots', async (etag, revision) => {
    hub.etagOverride.set('model_index.json', etag);
    const error = await snapshotDownload(REPO, { ...options(), revision }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(HubMetadataError);
    expect((error as Error).message).toContain(`${hub.url}/${REPO}/resolve/${revision}/model_index.json: ETag`);
    expect((error as Error).message).toContain('is not a sha256 (64 hex digits) or git sha1 (40 hex digits)');
    expect(hub.requests('', 'GET')).toEqual([]);
    expect(outsideRoots(cacheDir, REPO)).toEqual([]);
    expect(listTree(path.join(cacheDir, 'models--org--hostile')).filter((p) => p.startsWith('blobs'))).toEqual([]);
  });

  test('every blob is verified by its hash: a non-LFS file whose bytes do not match its git sha1 ETag is refused', async () => {
    // A valid-looking sha1 that is not the content's (already refused before; kept as a guard now that every ETag is a hash).
    hub.etagOverride.set('model_index.json', `"${gitBlobSha1(text('something else'))}"`);
    await expect(snapshotDownload(REPO, options())).rejects.toThrow(/org\/hostile\/model_index.json is corrupted: its git blob sha1 is/);
    expect(listTree(path.join(cacheDir, 'models--org--hostile', 'blobs'))).toEqual([]);
  });

  // Defect 7: a 300 MB model_index.json without a declared size was stored and then read whole into JSON.parse.
  test('a JSON file over 8 MiB is refused while it arrives when no size is declared, and before the GET when one is', async () => {
    const big = new Uint8Array(Buffer.from(`{"unet": ["diffusers", "UNet2DModel"], "pad": "${'x'.repeat(9 << 20)}"}`));
    hub.addRepo(REPO, { ...pipelineRepo(), 'model_index.json': big }, [WEIGHTS], COMMIT);
    hub.undeclaredSize.add('model_index.json');
    const error = await snapshotDownload(REPO, options()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(HubFileTooLargeError);
    expect((error as Error).message).toMatch(
      new RegExp(`^model_index.json from ${hub.url}/${REPO}/resolve/main/model_index.json: more than 8388608 bytes arrived \\(\\d+ so far\\), over the 8388608-byte limit`),
    );
    expect(listTree(path.join(cacheDir, 'models--org--hostile', 'blobs'))).toEqual([]);
    // Declared: refused from the HEAD alone.
    hub.undeclaredSize.clear();
    hub.log.length = 0;
    await expect(snapshotDownload(REPO, options())).rejects.toThrow(`the server announces ${big.length} bytes, over the 8388608-byte limit`);
    expect(hub.requests('', 'GET')).toEqual([]);
    // The limit is an option (here 500 bytes: unet/config.json has 953) and applies to every .json.
    hub.addRepo(REPO, pipelineRepo(), [WEIGHTS], COMMIT);
    await expect(snapshotDownload(REPO, { ...options(), maxJsonBytes: 500 })).rejects.toThrow(`unet/config.json from ${hub.url}/${REPO}/resolve/${COMMIT}/unet/config.json: the server announces 953 bytes`);
  }, 30000);

  // Defect 7: a server dripping 1 byte per 0.5 s was never abandoned (the idle timeout never fired).
  test('a drip (1 byte per 20 ms) is abandoned once the rate stays under the minimum for the window; the bytes are kept', async () => {
    const sha = sha256Hex(pipelineRepo()[WEIGHTS]);
    hub.drip.set(sha, 20);
    const started = performance.now();
    // Scaled-down numbers: 1000 B/s over 600 ms (the defaults, 10 KB/s over 30 s, are the same rule).
    const error = await snapshotDownload(REPO, { ...options(), minBytesPerSecond: 1000, slowWindowMs: 600 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(HubSlowDownloadError);
    expect((error as Error).message).toMatch(
      new RegExp(`^download of ${WEIGHTS} from ${hub.url}/lfs/${sha} abandoned: \\d+ bytes/s over the last 0.6 s, under the minimum of 1000 bytes/s; \\d+ bytes are kept`),
    );
    // Within a few windows, not the idle timeout (10 s) and never a hang.
    expect(performance.now() - started).toBeLessThan(5000);
    const incomplete = path.join(cacheDir, 'models--org--hostile', 'blobs', `${sha}.incomplete`);
    expect(fs.statSync(incomplete).size).toBeGreaterThan(0);
    // The next run, from a good server, resumes and completes.
    hub.drip.clear();
    const dir = await snapshotDownload(REPO, options());
    expect(sha256Hex(fs.readFileSync(path.join(dir, WEIGHTS)))).toBe(sha);
    expect(hub.requests(`/lfs/${sha}`, 'GET').pop()?.range).toMatch(/^bytes=\d+-$/);
  }, 15000);

  test('model_index.json of null, a list or a string: a named error naming the file and the value', async () => {
    for (const [value, shown, commit] of [['null', 'null', '1'], ['[1,2]', 'an array', '2'], ['"unet"', '"unet"', '3']]) {
      hub.addRepo(REPO, { ...pipelineRepo(), 'model_index.json': new Uint8Array(Buffer.from(value)) }, [WEIGHTS], commit.repeat(40));
      const error = await snapshotDownload(REPO, options()).catch((e: Error) => e);
      expect(error).toBeInstanceOf(HubRepoFileError);
      expect((error as Error).message).toBe(`${REPO}/model_index.json: must hold a JSON object, got ${shown}`);
    }
  });

  test('HF_ENDPOINT (or the endpoint option) that is not an http(s) URL: a named error naming the variable and value', async () => {
    for (const value of ['hub.local', 'ftp://hub.local', 'file:///etc', 'https://user:pw@hub.local']) {
      const error = await snapshotDownload(REPO, { cacheDir, env: { HF_ENDPOINT: value } }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(HubEndpointError);
      expect((error as Error).message).toBe(`HF_ENDPOINT ${JSON.stringify(value)} is not an http(s) URL (expected e.g. https://huggingface.co or http://127.0.0.1:8080)`);
    }
    await expect(snapshotDownload(REPO, { cacheDir, env: {}, endpoint: 'nope' })).rejects.toThrow('the endpoint option "nope" is not an http(s) URL');
    expect(fs.existsSync(cacheDir)).toBe(false);
  });
});

describe('redirects and the token (an https Hub and CDN, stubbed in-process)', () => {
  let tmp: string;
  const data = new Uint8Array(Buffer.from('{"weights": "not really"}'));
  const sha = sha256Hex(data);
  const commit = 'd'.repeat(40);
  const lfsHead = (location: string): Response =>
    new Response(null, { status: 302, headers: { Location: location, 'X-Repo-Commit': commit, 'X-Linked-Etag': `"${sha}"`, 'X-Linked-Size': String(data.length) } });
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-redirect-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const options = (fetchImpl: typeof fetch): HubClientOptions => ({ endpoint: 'https://hub.test', cacheDir: tmp, env: {}, token: 'hf_secret', fetchImpl, retries: 0 });

  // Defect 7: `//cdn.test/...` was taken for a relative redirect: followed by the HEAD (which then asked the CDN for
  // Hub headers) instead of being the download location on another host.
  test('a protocol-relative redirect is another host: the download location, fetched without the token', async () => {
    const { fetchImpl, seen } = stubHub((url, method) => {
      if (url.host === 'hub.test') return lfsHead(`//cdn.test/blob/${sha}`);
      if (url.host === 'cdn.test' && method === 'GET') return new Response(data, { status: 200, headers: { 'Content-Length': String(data.length) } });
      return new Response(null, { status: 200 }); // a CDN knows nothing of X-Repo-Commit
    });
    const file = await hfHubDownload(REPO, 'weights.json', options(fetchImpl));
    expect(fs.readFileSync(file, 'utf8')).toBe('{"weights": "not really"}');
    expect(seen.map((r) => `${r.method} ${r.url} ${r.authorization}`)).toEqual([
      `HEAD https://hub.test/${REPO}/resolve/main/weights.json Bearer hf_secret`,
      `GET https://cdn.test/blob/${sha} null`,
    ]);
  });

  test('https → http is refused, at the HEAD and in the GET chain; nothing is downloaded', async () => {
    const toHttp = stubHub(() => lfsHead(`http://cdn.test/blob/${sha}`));
    await expect(hfHubDownload(REPO, 'weights.json', options(toHttp.fetchImpl))).rejects.toThrow(
      new HubRedirectError(`https://hub.test/${REPO}/resolve/main/weights.json`, `http://cdn.test/blob/${sha}`, 'https must not lead to http'),
    );
    expect(toHttp.seen).toHaveLength(1);
    const chain = stubHub((url) => {
      if (url.host === 'hub.test') return lfsHead(`https://cdn.test/blob/${sha}`);
      return new Response(null, { status: 302, headers: { Location: `http://evil.test/blob/${sha}` } });
    });
    const error = await hfHubDownload(REPO, 'weights.json', options(chain.fetchImpl)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(HubRedirectError);
    expect((error as Error).message).toBe(`https://cdn.test/blob/${sha} redirects to "http://evil.test/blob/${sha}": refused, https must not lead to http`);
    expect(chain.seen.map((r) => r.url)).not.toContain(`http://evil.test/blob/${sha}`);
    expect(fs.readdirSync(path.join(tmp, 'models--org--hostile', 'blobs')).filter((f) => !f.endsWith('.incomplete'))).toEqual([]);
  });

  test('a plain-http endpoint may redirect within its own origin only; the token goes to that origin only', async () => {
    const local = 'http://127.0.0.1:9';
    const elsewhere = stubHub(() => lfsHead(`http://127.0.0.2:9/blob/${sha}`));
    await expect(hfHubDownload(REPO, 'weights.json', { ...options(elsewhere.fetchImpl), endpoint: local })).rejects.toThrow(
      "plain http is followed only within the endpoint's origin (http://127.0.0.1:9)",
    );
    const same = stubHub((url, method) =>
      url.pathname.startsWith('/blob/') && method === 'GET' ? new Response(data, { status: 200 }) : lfsHead(`${local}/blob/${sha}`),
    );
    await hfHubDownload(REPO, 'weights.json', { ...options(same.fetchImpl), endpoint: local });
    expect(same.seen.map((r) => r.authorization)).toEqual(['Bearer hf_secret', 'Bearer hf_secret']);
    // A redirect loop ends after maxRedirects.
    const loop = stubHub((url) => new Response(null, { status: 302, headers: { Location: `/${REPO}/resolve/main/x${url.pathname.length}` } }));
    await expect(hfHubDownload(REPO, 'weights.json', options(loop.fetchImpl))).rejects.toThrow('refused, more than 5 redirects');
    expect(loop.seen.length).toBe(6);
  });
});

describe('the rate rule: under 10 KB/s on average for 30 s', () => {
  const KB = 1000;
  /** Feeds `bytesAt(t)` once a second for `seconds`; returns the first second judged too slow, or -1. */
  function firstSlowSecond(bytesAt: (t: number) => number, seconds: number): number {
    const rate = new RateWindow(10 * KB, 30_000, 0);
    for (let t = 1; t <= seconds; t++) if (rate.tooSlow(t * 1000, bytesAt(t))) return t;
    return -1;
  }

  test('a slow but steady link (12 KB/s: the 143 MB weights in 3.3 hours) is never abandoned', () => {
    expect(firstSlowSecond((t) => 12 * KB * t, 4 * 3600)).toBe(-1);
  });

  test('a link that stalls for 20 s and catches up in a burst is not abandoned', () => {
    expect(firstSlowSecond((t) => (t < 20 ? 0 : 400 * KB + 50 * KB * (t - 20)), 600)).toBe(-1);
  });

  test('a drip (1 byte per 0.5 s) is abandoned after exactly one window, 30 s', () => {
    expect(firstSlowSecond((t) => 2 * t, 600)).toBe(30);
  });

  test('a link that slows down to 5 KB/s after 100 s is abandoned once the last 30 s average under 10 KB/s', () => {
    const t0 = 100;
    const slow = firstSlowSecond((t) => (t <= t0 ? 50 * KB * t : 50 * KB * t0 + 5 * KB * (t - t0)), 600);
    // At t0 + k the window holds 50 KB × (30 − k) + 5 KB × k: under 300 KB from k = 27 on.
    expect(slow).toBe(t0 + 27);
  });
});
