// Issue 13, "many processes, one cache": 6 concurrent `tfjs-diffusers generate --model <hub id>` processes (the built
// bin) on one empty HF_HOME against a Hub on 127.0.0.1, the one downloading the weights SIGKILLed mid-download.
// Before the locks, 3 of 4 such processes failed with `ENOENT ... blobs/<sha>.incomplete`.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI_BIN } from '../../helpers/cli';
import { fixturePath } from '../../helpers/fixtures';
import { FakeHub, gitBlobSha1, sha256Hex } from './hub-server';

const REPO = 'org/tiny-unet';
const WEIGHTS = 'unet/diffusion_pytorch_model.safetensors';
const PROCESSES = 6;

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function generate(bin: string, cwd: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, [bin, 'generate', '--model', REPO, '--seed', '0', '--steps', '2', '--backend', 'cpu'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Polls `check` every 20 ms until it returns a value, for at most `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => T | undefined): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String).filter((p) => !fs.statSync(path.join(dir, p)).isDirectory());
}

describe('many generate processes, one Hub cache', () => {
  let hub: FakeHub;
  let tmp: string;
  beforeEach(async () => {
    hub = new FakeHub();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-concurrent-'));
  });
  afterEach(async () => {
    await hub.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('6 processes, the downloader SIGKILLed mid-download: every survivor succeeds with the same abs-sum, the cache is consistent, a rerun downloads nothing', async () => {
    const files: Record<string, Uint8Array> = {
      'model_index.json': new Uint8Array(Buffer.from(JSON.stringify({ _class_name: 'DDPMPipeline', scheduler: ['diffusers', 'DDPMScheduler'], unet: ['diffusers', 'UNet2DModel'] }))),
      'scheduler/scheduler_config.json': new Uint8Array(Buffer.from(JSON.stringify({ _class_name: 'DDPMScheduler', num_train_timesteps: 1000, beta_schedule: 'linear', clip_sample: true }))),
      'unet/config.json': new Uint8Array(fs.readFileSync(fixturePath('tiny-unet', 'config.json'))),
      [WEIGHTS]: new Uint8Array(fs.readFileSync(fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors'))),
    };
    const repo = hub.addRepo(REPO, files, [WEIGHTS]);
    // 2.3 MB at ~1 MB/s: the download lasts long enough to kill its process in the middle.
    hub.throttleBytesPerSecond = 1 << 20;
    await hub.start();
    const cache = path.join(tmp, 'hf', 'hub');
    const env = { HF_ENDPOINT: hub.url, HF_HOME: path.join(tmp, 'hf') };
    const weightsSha = sha256Hex(files[WEIGHTS]);
    const blobs = path.join(cache, 'models--org--tiny-unet', 'blobs');
    const lockFile = path.join(cache, '.locks', 'models--org--tiny-unet', `${weightsSha}.tfjs-diffusers.lock`);

    const runs = Array.from({ length: PROCESSES }, () => generate(CLI_BIN, tmp, env));
    // Kill the process that holds the weights' lock once part of the weights is on disk.
    const victimPid = await waitFor('a partial download of the weights', 90000, () => {
      try {
        if (fs.statSync(path.join(blobs, `${weightsSha}.incomplete`)).size === 0) return undefined;
        return (JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { pid: number }).pid;
      } catch {
        return undefined;
      }
    });
    const victim = runs.find((r) => r.child.pid === victimPid);
    expect(victim).toBeDefined();
    victim!.child.kill('SIGKILL');
    const results = await Promise.all(runs.map((r) => r.done));

    const killed = results.filter((_, i) => runs[i] === victim);
    expect(killed.map((r) => r.signal)).toEqual(['SIGKILL']);
    const survivors = results.filter((_, i) => runs[i] !== victim);
    for (const r of survivors) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const absSums = new Set(survivors.map((r) => r.stdout));
    expect(absSums.size).toBe(1);
    expect([...absSums][0]).toMatch(/^abs-sum \d+\.\d{4}\n$/);
    // One process converted; the others waited for it or found its result.
    expect(survivors.filter((r) => r.stderr.includes('converting org/tiny-unet to the tfjs format')).length).toBe(1);

    // The weights: the killed process's GET, then one ranged GET resuming its partial file; no other.
    const weightGets = hub.requests(`/lfs/${weightsSha}`, 'GET');
    expect(weightGets.map((r) => r.range === undefined)).toEqual([true, false]);
    // Each small file fetched once.
    for (const file of ['model_index.json', 'unet/config.json', 'scheduler/scheduler_config.json']) {
      expect(hub.requests(file, 'GET')).toHaveLength(1);
    }

    // The cache: each blob once, under its hash, nothing partial; one converted folder; no lock left.
    const expectedBlobs = [weightsSha, ...['model_index.json', 'unet/config.json', 'scheduler/scheduler_config.json'].map((f) => gitBlobSha1(files[f]))];
    expect(fs.readdirSync(blobs).sort()).toEqual(expectedBlobs.sort());
    for (const name of expectedBlobs) {
      const data = fs.readFileSync(path.join(blobs, name));
      expect(name.length === 64 ? sha256Hex(data) : gitBlobSha1(data)).toBe(name);
    }
    expect(fs.readdirSync(path.join(cache, 'tfjs-diffusers', 'org--tiny-unet'))).toEqual([repo.commit]);
    expect(filesUnder(path.join(cache, '.locks'))).toEqual([]);
    expect(fs.readdirSync(cache).sort()).toEqual(['.locks', 'models--org--tiny-unet', 'tfjs-diffusers']);

    // A rerun: HEAD requests only, the same abs-sum, no conversion.
    const before = hub.log.filter((r) => r.method === 'GET').length;
    const rerun = await generate(CLI_BIN, tmp, env).done;
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toBe([...absSums][0]);
    expect(rerun.stderr).not.toContain('converting');
    expect(hub.log.filter((r) => r.method === 'GET').length).toBe(before);
  }, 240000);
});
