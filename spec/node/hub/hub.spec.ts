import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HubEnv, defaultHubCacheDir, isHubOfflineEnv, looksLikeRepoId, validateRepoId } from '../../../lib/node/hub/cache';
import { HubArgumentError, HubDownloadOptions, HubError, HubFileNotFoundError, HubProgress, hfHubDownload, resolveModelPath, resolvePipelineFiles, snapshotDownload } from '../../../lib/node/hub/hub';
import { readStateDict } from '../../../lib/node/fs/read-state-dict';
import { fixturePath, loadFixture } from '../../helpers/fixtures';
import { FakeHub, HubRequest, gitBlobSha1, sha256Hex } from './hub-server';
import { stateDictSha256 } from '../../io/state-dict-hash';
import { closedPort } from '../../helpers/ports';

const REPO = 'google/ddpm-tiny-test';
const SAFETENSORS = 'unet/diffusion_pytorch_model.safetensors';
const BIN = 'unet/diffusion_pytorch_model.bin';
const unetTiny = loadFixture('unet_tiny.json');

const text = (value: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(value, null, 2)));
const fixture = (file: string): Uint8Array => new Uint8Array(fs.readFileSync(fixturePath('tiny-unet', file)));

/** spec/fixtures/tiny-unet as a diffusers pipeline repository (model_index.json + unet/ + scheduler/). */
function pipelineFiles(withSafetensors = true): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {
    'model_index.json': text({ _class_name: 'DDPMPipeline', _diffusers_version: '0.30.3', scheduler: ['diffusers', 'DDPMScheduler'], unet: ['diffusers', 'UNet2DModel'] }),
    'scheduler/scheduler_config.json': text({ _class_name: 'DDPMScheduler', beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', num_train_timesteps: 1000, clip_sample: true, variance_type: 'fixed_large' }),
    'unet/config.json': fixture('config.json'),
    [BIN]: fixture('diffusion_pytorch_model.bin'),
    'README.md': text('not needed'),
  };
  if (withSafetensors) files[SAFETENSORS] = fixture('diffusion_pytorch_model.safetensors');
  return files;
}

/** A fetch that must not be called. */
const noNetwork = (() => {
  throw new Error('the network was used');
}) as unknown as typeof fetch;


/**
 * The first GET without Range, the second resuming from what arrived (at most `sent` bytes), and any further one (a
 * resumed transfer that paused past the timeout again: seen once beside another test run, load 6.5 on 2 cores)
 * resuming from further on still: never from the start, never backwards.
 */
function expectResumed(gets: HubRequest[], sent: number): void {
  expect(gets.length).toBeGreaterThanOrEqual(2);
  expect(gets[0].range).toBeUndefined();
  const from = gets.slice(1).map((g) => Number(/^bytes=(\d+)-$/.exec(g.range ?? '')?.[1]));
  expect(from[0]).toBeGreaterThan(0);
  expect(from[0]).toBeLessThanOrEqual(sent);
  for (let i = 1; i < from.length; i++) expect(from[i]).toBeGreaterThan(from[i - 1]);
}

describe('snapshotDownload against a fake Hub on 127.0.0.1', () => {
  let hub: FakeHub;
  let tmp: string;
  let cacheDir: string;
  // Isolated from the machine's HF_* variables: every test passes its own env.
  const env: HubEnv = {};
  const options = (): HubDownloadOptions => ({
    endpoint: hub.url,
    cacheDir,
    env,
    retryDelayMs: 0,
    timeoutMs: 10000, // a stuck test fails within seconds instead of hanging
  });

  beforeEach(async () => {
    hub = new FakeHub();
    hub.addRepo(REPO, pipelineFiles(), [SAFETENSORS, BIN]);
    await hub.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'io-hub-'));
    cacheDir = path.join(tmp, 'hub');
  });
  afterEach(async () => {
    await hub.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('downloads the pipeline files into the huggingface_hub cache layout', async () => {
    const progress: HubProgress[] = [];
    const dir = await snapshotDownload(REPO, { ...options(), onProgress: (p) => progress.push(p) });
    const repo = hub.repos.get(REPO)!;
    const root = path.join(cacheDir, 'models--google--ddpm-tiny-test');
    expect(dir).toBe(path.join(root, 'snapshots', repo.commit));
    expect(fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8')).toBe(repo.commit);
    // The pipeline files, safetensors preferred (the .bin and README are not fetched).
    const listed = fs.readdirSync(dir, { recursive: true }).map(String).sort();
    expect(listed).toEqual(['model_index.json', 'scheduler', 'scheduler/scheduler_config.json', 'unet', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors']);
    expect(hub.requests('.bin')).toEqual([]);
    // Snapshot entries are relative symlinks to blobs named by ETag: sha256 for LFS, git sha1 otherwise.
    const weights = path.join(dir, SAFETENSORS);
    expect(fs.readlinkSync(weights)).toBe(`../../../blobs/${sha256Hex(repo.files[SAFETENSORS])}`);
    expect(fs.readlinkSync(path.join(dir, 'model_index.json'))).toBe(`../../blobs/${gitBlobSha1(repo.files['model_index.json'])}`);
    expect(fs.readdirSync(path.join(root, 'blobs')).filter((f) => f.endsWith('.incomplete'))).toEqual([]);
    // The weights are the fixture's.
    expect(stateDictSha256(readStateDict(path.join(dir, 'unet')))).toBe(unetTiny.weights_sha256);
    // Progress reached the full size; later files were asked for at the pinned commit.
    const last = progress.filter((p) => p.file === SAFETENSORS).pop()!;
    expect(last).toEqual({ file: SAFETENSORS, loaded: repo.files[SAFETENSORS].length, total: repo.files[SAFETENSORS].length, cached: false });
    expect(hub.requests('/resolve/main/model_index.json', 'HEAD')).toHaveLength(1);
    expect(hub.requests(`/resolve/${repo.commit}/unet/config.json`, 'HEAD')).toHaveLength(1);
  });

  test('a second call reuses the cache: HEAD requests only, no GET', async () => {
    const first = await snapshotDownload(REPO, options());
    const gets = hub.log.filter((r) => r.method === 'GET').length;
    expect(gets).toBeGreaterThan(0);
    const progress: HubProgress[] = [];
    const second = await snapshotDownload(REPO, { ...options(), onProgress: (p) => progress.push(p) });
    expect(second).toBe(first);
    expect(hub.log.filter((r) => r.method === 'GET').length).toBe(gets);
    expect(progress.every((p) => p.cached)).toBe(true);
    // A blob already present under another snapshot path is linked, not downloaded again.
    const otherPath = await hfHubDownload(REPO, SAFETENSORS, { ...options(), revision: hub.repos.get(REPO)!.commit });
    expect(fs.realpathSync(otherPath)).toBe(fs.realpathSync(path.join(first, SAFETENSORS)));
    expect(hub.log.filter((r) => r.method === 'GET').length).toBe(gets);
  });

  test('falls back to the .bin on a 404 for the safetensors, and remembers the 404 for offline runs', async () => {
    hub.addRepo(REPO, pipelineFiles(false), [BIN]);
    expect(await resolvePipelineFiles(REPO, options())).toEqual(['model_index.json', 'unet/config.json', BIN, 'scheduler/scheduler_config.json']);
    const commit = hub.repos.get(REPO)!.commit;
    const root = path.join(cacheDir, 'models--google--ddpm-tiny-test');
    expect(fs.existsSync(path.join(root, '.no_exist', commit, SAFETENSORS))).toBe(true);
    const dir = await snapshotDownload(REPO, { ...options(), env: { HF_HUB_OFFLINE: '1' }, fetchImpl: noNetwork });
    expect(fs.existsSync(path.join(dir, BIN))).toBe(true);
    expect(stateDictSha256(readStateDict(path.join(dir, 'unet')))).toBe(unetTiny.weights_sha256);
  });

  test('the model layout (no model_index.json): config.json and weights at the top', async () => {
    hub.addRepo('org/bare-unet', { 'config.json': fixture('config.json'), 'diffusion_pytorch_model.bin': fixture('diffusion_pytorch_model.bin') }, ['diffusion_pytorch_model.bin']);
    const dir = await snapshotDownload('org/bare-unet', options());
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'diffusion_pytorch_model.bin']);
    expect(stateDictSha256(readStateDict(dir))).toBe(unetTiny.weights_sha256);
    hub.addRepo('org/empty', { 'README.md': text('') }, []);
    await expect(snapshotDownload('org/empty', options())).rejects.toThrow('org/empty: neither model_index.json (a pipeline) nor config.json (a model) found at revision main');
  });

  test('an interrupted download resumes with a Range request (a second call, after a clear error)', async () => {
    const data = hub.repos.get(REPO)!.files[SAFETENSORS];
    const sha = sha256Hex(data);
    hub.dropAfter.set(sha, 1_000_000);
    const error = await snapshotDownload(REPO, { ...options(), retries: 0 }).catch((e: Error) => e);
    // fetch drops the chunks it had queued when the connection breaks, so "after" counts what reached the disk.
    const match = new RegExp(`download of ${REPO}/${SAFETENSORS} interrupted after (\\d+) of ${data.length} bytes .*; run again to resume from there`).exec((error as Error).message);
    expect(match).not.toBeNull();
    const have = Number(match![1]);
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThanOrEqual(1_000_000);
    const incomplete = path.join(cacheDir, 'models--google--ddpm-tiny-test', 'blobs', `${sha}.incomplete`);
    expect(fs.statSync(incomplete).size).toBe(have);
    const dir = await snapshotDownload(REPO, { ...options(), retries: 0 });
    const gets = hub.requests(`/lfs/${sha}`, 'GET');
    expect(gets.map((r) => r.range)).toEqual([undefined, `bytes=${have}-`]);
    expect(sha256Hex(fs.readFileSync(path.join(dir, SAFETENSORS)))).toBe(sha);
    expect(fs.existsSync(incomplete)).toBe(false);
  });

  test('an interrupted download resumes within the same call (retries)', async () => {
    const sha = sha256Hex(hub.repos.get(REPO)!.files[SAFETENSORS]);
    hub.dropAfter.set(sha, 123_457);
    const dir = await snapshotDownload(REPO, options());
    expectResumed(hub.requests(`/lfs/${sha}`, 'GET'), 123_457);
    expect(stateDictSha256(readStateDict(path.join(dir, 'unet')))).toBe(unetTiny.weights_sha256);
  });

  test('a download that stalls times out and resumes (no hang)', async () => {
    const sha = sha256Hex(hub.repos.get(REPO)!.files[SAFETENSORS]);
    hub.stallAfter.set(sha, 200_000);
    const dir = await snapshotDownload(REPO, { ...options(), timeoutMs: 300 });
    expectResumed(hub.requests(`/lfs/${sha}`, 'GET'), 200_000);
    expect(sha256Hex(fs.readFileSync(path.join(dir, SAFETENSORS)))).toBe(sha);
    // Without retries the stall ends in a clear error instead of a hang.
    hub.stallAfter.set(sha256Hex(hub.repos.get(REPO)!.files[BIN]), 100);
    const error = await hfHubDownload(REPO, BIN, { ...options(), timeoutMs: 300, retries: 0 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as Error).message).toMatch(/interrupted after 100 of \d+ bytes \(ETIMEDOUT: no data from 127.0.0.1:\d+ for 0.3 s\)/);
  });

  test('a server that ignores Range (200 instead of 206) still gives the right file', async () => {
    const sha = sha256Hex(hub.repos.get(REPO)!.files[SAFETENSORS]);
    hub.dropAfter.set(sha, 500_000);
    hub.ignoreRange = true;
    const dir = await snapshotDownload(REPO, options());
    expectResumed(hub.requests(`/lfs/${sha}`, 'GET'), 500_000);
    expect(sha256Hex(fs.readFileSync(path.join(dir, SAFETENSORS)))).toBe(sha);
  });

  test('a corrupted file is refused (sha256 ≠ ETag) and deleted; a later good download succeeds', async () => {
    const sha = sha256Hex(hub.repos.get(REPO)!.files[SAFETENSORS]);
    hub.corrupt.add(sha);
    await expect(snapshotDownload(REPO, options())).rejects.toThrow(
      new RegExp(`the download of ${REPO}/${SAFETENSORS} is corrupted: its sha256 is [0-9a-f]{64}, the Hub says ${sha}; the file was deleted`),
    );
    const blobs = path.join(cacheDir, 'models--google--ddpm-tiny-test', 'blobs');
    expect(fs.readdirSync(blobs).filter((f) => f.startsWith(sha))).toEqual([]);
    hub.corrupt.delete(sha);
    const dir = await snapshotDownload(REPO, options());
    expect(sha256Hex(fs.readFileSync(path.join(dir, SAFETENSORS)))).toBe(sha);
  });

  test('a corrupted small file is refused too (git blob sha1 ≠ ETag)', async () => {
    const corruptingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method !== 'GET' || !String(input).endsWith('unet/config.json')) return response;
      const body = Buffer.from(await response.arrayBuffer());
      body[10] ^= 1;
      return new Response(body, { status: 200, headers: response.headers });
    };
    await expect(snapshotDownload(REPO, { ...options(), fetchImpl: corruptingFetch })).rejects.toThrow(/unet\/config.json is corrupted: its git blob sha1 is [0-9a-f]{40}, the Hub says [0-9a-f]{40}/);
  });

  test('offline: a clear error naming the endpoint, HF_ENDPOINT and the manual route; the cache still answers', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const error = await snapshotDownload(REPO, { ...options(), endpoint }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as Error).message).toMatch(`cannot reach ${endpoint} (ECONNREFUSED) to download ${REPO}`);
    expect((error as Error).message).toMatch('set HF_ENDPOINT');
    expect((error as Error).message).toMatch('HF_HUB_OFFLINE=1');
    expect((error as Error).message).toMatch('tfjs-diffusers convert <dir> <out>');
    // Once the files are cached, an unreachable Hub falls back to the cache (like huggingface_hub).
    const dir = await snapshotDownload(REPO, options());
    expect(await snapshotDownload(REPO, { ...options(), endpoint })).toBe(dir);
  });

  test('HF_HUB_OFFLINE=1 uses the cache only, and says so when the cache is empty', async () => {
    await expect(snapshotDownload(REPO, { ...options(), env: { HF_HUB_OFFLINE: '1' }, fetchImpl: noNetwork })).rejects.toThrow(
      `HF_HUB_OFFLINE is set and ${REPO} at revision main is not in the cache (${path.join(cacheDir, 'models--google--ddpm-tiny-test')})`,
    );
    const dir = await snapshotDownload(REPO, options());
    expect(await snapshotDownload(REPO, { ...options(), env: { HF_HUB_OFFLINE: '1' }, fetchImpl: noNetwork })).toBe(dir);
    expect(await snapshotDownload(REPO, { ...options(), offline: true, fetchImpl: noNetwork })).toBe(dir);
  });

  test('HF_ENDPOINT, HF_HOME, HF_HUB_CACHE and HF_TOKEN come from the env passed in', async () => {
    const home = path.join(tmp, 'hf-home');
    const dir = await snapshotDownload(REPO, { env: { HF_ENDPOINT: hub.url, HF_HOME: home, HF_TOKEN: 'hf_test' }, retryDelayMs: 0 });
    expect(dir.startsWith(path.join(home, 'hub', 'models--google--ddpm-tiny-test', 'snapshots'))).toBe(true);
    expect(hub.log.every((r) => r.authorization === 'Bearer hf_test')).toBe(true);
    const hubCache = path.join(tmp, 'elsewhere');
    const dir2 = await snapshotDownload(REPO, { env: { HF_ENDPOINT: hub.url, HF_HOME: home, HF_HUB_CACHE: hubCache }, retryDelayMs: 0 });
    expect(dir2.startsWith(path.join(hubCache, 'models--google--ddpm-tiny-test'))).toBe(true);
  });

  test('a cache written by Python huggingface_hub (same layout) is used as is', async () => {
    // Lay out the cache by hand, as huggingface_hub 0.24 writes it.
    const commit = 'a'.repeat(40);
    const root = path.join(cacheDir, 'models--google--ddpm-tiny-test');
    const files = pipelineFiles(false);
    for (const file of ['model_index.json', 'unet/config.json', BIN, 'scheduler/scheduler_config.json']) {
      const etag = file === BIN ? sha256Hex(files[file]) : gitBlobSha1(files[file]);
      fs.mkdirSync(path.join(root, 'blobs'), { recursive: true });
      fs.writeFileSync(path.join(root, 'blobs', etag), files[file]);
      const pointer = path.join(root, 'snapshots', commit, file);
      fs.mkdirSync(path.dirname(pointer), { recursive: true });
      fs.symlinkSync(path.relative(path.dirname(pointer), path.join(root, 'blobs', etag)), pointer);
    }
    fs.mkdirSync(path.join(root, 'refs'));
    fs.writeFileSync(path.join(root, 'refs', 'main'), commit);
    const dir = await snapshotDownload(REPO, { ...options(), offline: true, fetchImpl: noNetwork });
    expect(dir).toBe(path.join(root, 'snapshots', commit));
    expect(stateDictSha256(readStateDict(path.join(dir, 'unet')))).toBe(unetTiny.weights_sha256);
    // Unreachable without HF_HUB_OFFLINE: the files the pipeline search asks for that this cache never recorded
    // (unet/model.json, the safetensors: no .no_exist markers) are taken as absent, as offline.
    expect(await snapshotDownload(REPO, { ...options(), endpoint: `http://127.0.0.1:${await closedPort()}` })).toBe(dir);
  });

  test('resolveModelPath: a local folder as is, a repository id downloaded, anything else a clear error', async () => {
    expect(await resolveModelPath(tmp, { ...options(), fetchImpl: noNetwork })).toBe(tmp);
    expect(await resolveModelPath(REPO, options())).toBe(path.join(cacheDir, 'models--google--ddpm-tiny-test', 'snapshots', hub.repos.get(REPO)!.commit));
    await expect(resolveModelPath('./no/such/folder', options())).rejects.toThrow(
      `${path.resolve('./no/such/folder')}: no such folder`,
    );
  });

  test('errors: unknown repository, revision or file; bad ids and paths never touch the network', async () => {
    await expect(snapshotDownload('nobody/nothing', options())).rejects.toThrow('repository nobody/nothing not found at');
    await expect(snapshotDownload(REPO, { ...options(), revision: 'v9' })).rejects.toThrow(`revision v9 not found in ${REPO}`);
    await expect(hfHubDownload(REPO, 'missing.json', options())).rejects.toBeInstanceOf(HubFileNotFoundError);
    await expect(snapshotDownload(REPO, { ...options(), files: ['missing.json'] })).rejects.toThrow(`missing.json not found in ${REPO} at revision main`);
    const requests = hub.log.length;
    await expect(snapshotDownload('../etc', options())).rejects.toThrow('repoId "../etc" is not a Hugging Face Hub repository id');
    await expect(snapshotDownload('../etc', options())).rejects.toBeInstanceOf(HubArgumentError);
    await expect(hfHubDownload(REPO, '../../../etc/passwd', options())).rejects.toThrow('is not a relative path inside a repository');
    await expect(hfHubDownload(REPO, 'a', { ...options(), revision: '../x' })).rejects.toThrow('revision "../x" is not a branch');
    expect(hub.log.length).toBe(requests);
  });

  test('a server that is not a Hub (no X-Repo-Commit), or sends an unsafe ETag, is refused', async () => {
    const plain: typeof fetch = async () => new Response('hello', { status: 200, headers: { ETag: '"abc"' } });
    await expect(hfHubDownload(REPO, 'model_index.json', { ...options(), fetchImpl: plain })).rejects.toThrow('did not send the X-Repo-Commit and ETag headers of a Hugging Face Hub');
    const evil: typeof fetch = async () => new Response('x', { status: 200, headers: { ETag: '"../../evil"', 'X-Repo-Commit': 'b'.repeat(40) } });
    await expect(hfHubDownload(REPO, 'model_index.json', { ...options(), fetchImpl: evil })).rejects.toThrow('ETag "../../evil" is not a sha256 (64 hex digits) or git sha1 (40 hex digits)');
  });
});

describe('hub cache settings', () => {
  test('defaultHubCacheDir follows huggingface_hub: HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME, ~/.cache', () => {
    expect(defaultHubCacheDir({ HF_HUB_CACHE: '/a', HF_HOME: '/b' })).toBe('/a');
    expect(defaultHubCacheDir({ HF_HOME: '/b', XDG_CACHE_HOME: '/c' })).toBe(path.join('/b', 'hub'));
    expect(defaultHubCacheDir({ XDG_CACHE_HOME: '/c' })).toBe(path.join('/c', 'huggingface', 'hub'));
    expect(defaultHubCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
  });

  test('HF_HUB_OFFLINE values', () => {
    for (const on of ['1', 'true', 'YES', 'on']) expect(isHubOfflineEnv({ HF_HUB_OFFLINE: on })).toBe(true);
    for (const off of [undefined, '0', 'false', '']) expect(isHubOfflineEnv({ HF_HUB_OFFLINE: off })).toBe(false);
  });

  test('repository ids', () => {
    expect(looksLikeRepoId('google/ddpm-cifar10-32')).toBe(true);
    expect(looksLikeRepoId('gpt2')).toBe(true);
    for (const bad of ['./models/tiny', '/abs/path', 'a/b/c', 'a--b/c', 'a/..', '-a/b', 'a/b.', '']) {
      expect(looksLikeRepoId(bad)).toBe(false);
    }
    expect(() => validateRepoId('a/b/c')).toThrow('repoId "a/b/c" is not a Hugging Face Hub repository id');
  });
});
