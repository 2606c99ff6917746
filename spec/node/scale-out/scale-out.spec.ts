import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync } from 'fflate';
import { CLI_BIN } from '../../helpers/cli';
import { decodePng } from '../../../lib/node/png';
import { forEachManifestLine, parseRecord } from '../../../lib/node/scale-out/manifest';

// The scale-out acceptance tests of issue 13, run as users run them: every command is a fresh child process of the
// built binary. 40 seeds of the embedded model at 2 steps keep each process around a second or two.
const SEEDS = '0-39';
const SEED_COUNT = 40;
const SHARDS = 4;
const COMMON = ['--seeds', SEEDS, '--steps', '2', '--backend', 'wasm'];
// A generous bound per process; the runs take seconds (a hung child must fail the test, not the suite).
const CHILD_TIMEOUT_MS = 120_000;

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'scale-out-'));
}, 180_000);
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

// One oneDNN thread per process: on a loaded machine OpenMP's spinning threads make these tiny runs ~20x slower. Every
// run here (references and shards) gets the same setting, so the byte comparisons are unaffected.
const CHILD_ENV = { DEBUG: '', OMP_NUM_THREADS: '1' };

function cli(args: string[], env: Record<string, string> = {}): Run {
  const run = spawnSync(process.execPath, [CLI_BIN, ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    env: { ...process.env, ...env, ...CHILD_ENV },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function start(args: string[], env: Record<string, string>): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: work, env: { ...process.env, ...env, ...CHILD_ENV } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const done = new Promise<Run>((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
  return { child, done };
}

function completeLines(file: string): number {
  if (!fs.existsSync(file)) return 0;
  let n = 0;
  forEachManifestLine(file, () => n++);
  return n;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + CHILD_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function pngsOf(dir: string): Map<string, Buffer> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.png'));
  return new Map(files.map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

const expectedNames = Array.from({ length: SEED_COUNT }, (_, s) => `seed${s}.png`).sort();

describe('generate over shards (a Kubernetes Indexed Job simulated), verify, merge', () => {
  let single1: Map<string, Buffer>;
  let single8: Map<string, Buffer>;

  test('single-process references: --seeds-per-forward 1 and 8 give the same bytes for every seed', () => {
    const one = cli(['generate', ...COMMON, '--out-dir', 'single-k1', '--seeds-per-forward', '1']);
    expect(one.status).toBe(0);
    const eight = cli(['generate', ...COMMON, '--out-dir', 'single-k8', '--seeds-per-forward', '8']);
    expect(eight.status).toBe(0);
    expect(eight.stderr).not.toContain('warning');
    single1 = pngsOf(path.join(work, 'single-k1'));
    single8 = pngsOf(path.join(work, 'single-k8'));
    expect([...single1.keys()].sort()).toEqual(expectedNames);
    for (const [name, bytes] of single1) expect(single8.get(name)!.equals(bytes)).toBe(true);
    // The abs-sum lines (one per seed, in order) agree too, and are not all equal (the seeds differ).
    expect(eight.stdout).toBe(one.stdout);
    expect(new Set(one.stdout.trim().split('\n')).size).toBeGreaterThan(30);
  });

  test('4 shards from JOB_COMPLETION_INDEX, one SIGKILLed mid-run and restarted: verify passes, bytes equal the single runs', async () => {
    const args = ['generate', ...COMMON, '--shards', String(SHARDS), '--out-dir', 'sharded'];
    const shards = Array.from({ length: SHARDS }, (_, i) => start(args, { JOB_COMPLETION_INDEX: String(i) }));
    // Shard 2 holds seeds 20-29: kill it once it has recorded a seed, before it has recorded all ten.
    const victimManifest = path.join(work, 'sharded', 'manifest-2-of-4.jsonl');
    await until(() => completeLines(victimManifest) >= 1, 'shard 2 to record a seed');
    shards[2].child.kill('SIGKILL');
    const killed = await shards[2].done;
    expect(killed.status).toBeNull(); // killed by the signal, not finished
    const recordedBeforeRestart = completeLines(victimManifest);
    expect(recordedBeforeRestart).toBeGreaterThanOrEqual(1);
    expect(recordedBeforeRestart).toBeLessThan(10);
    for (const i of [0, 1, 3]) expect((await shards[i].done).status).toBe(0);

    // The restarted pod: same index, same command; resume is the default under a shard.
    const restarted = cli(args, { JOB_COMPLETION_INDEX: '2' });
    expect(restarted.status).toBe(0);
    expect(restarted.stderr).toContain(`resume: ${recordedBeforeRestart} seed(s) already done`);
    expect(restarted.stdout.trim().split('\n')).toHaveLength(10 - recordedBeforeRestart);

    const verify = cli(['verify', 'sharded', '--seeds', SEEDS]);
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain('ok: every seed has exactly one record and its PNG matches it');

    const sharded = pngsOf(path.join(work, 'sharded'));
    expect([...sharded.keys()].sort()).toEqual(expectedNames);
    for (const [name, bytes] of sharded) {
      expect(bytes.equals(single1.get(name)!)).toBe(true);
      expect(bytes.equals(single8.get(name)!)).toBe(true);
    }
  }, 300_000);

  test('a torn last manifest line (a writer killed mid-write) is ignored by verify and ended by the next writer', () => {
    const manifest = path.join(work, 'sharded', 'manifest-1-of-4.jsonl');
    fs.appendFileSync(manifest, '{"v":1,"seed":12,"file":"se');
    const verify = cli(['verify', 'sharded', '--seeds', SEEDS]);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain('manifest-1-of-4.jsonl: a torn last line of 27 bytes');
    // A resumed shard 1 finds all its seeds done, appends nothing, but ends the torn line for the writers after it.
    const again = cli(['generate', ...COMMON, '--shard', '1/4', '--out-dir', 'sharded']);
    expect(again.status).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('resume: 10 seed(s) already done');
    expect(fs.readFileSync(manifest, 'utf8').endsWith('"file":"se\n')).toBe(true);
    const after = cli(['verify', 'sharded', '--seeds', SEEDS]);
    expect(after.status).toBe(0);
    expect(after.stdout).toContain('manifest-1-of-4.jsonl line 11: not JSON');
  });

  test('two processes given the same index at once: both succeed, the files and the manifest stay whole', async () => {
    const args = ['generate', ...COMMON, '--shards', String(SHARDS), '--out-dir', 'twins'];
    const twins = [start(args, { JOB_COMPLETION_INDEX: '3' }), start(args, { JOB_COMPLETION_INDEX: '3' })];
    for (const twin of twins) expect((await twin.done).status).toBe(0);
    const manifest = path.join(work, 'twins', 'manifest-3-of-4.jsonl');
    let lines = 0;
    forEachManifestLine(manifest, ({ text }) => {
      lines++;
      expect(typeof parseRecord(text)).toBe('object'); // every line a whole record: no interleaving
    });
    expect(lines).toBeGreaterThanOrEqual(10);
    expect(fs.readFileSync(manifest, 'utf8').endsWith('\n')).toBe(true);
    const verify = cli(['verify', 'twins', '--seeds', '30-39']);
    expect(verify.status).toBe(0);
    for (const [name, bytes] of pngsOf(path.join(work, 'twins'))) expect(bytes.equals(single1.get(name)!)).toBe(true);
  }, 300_000);

  test('merge writes one manifest in seed order and an .npz (uint8 NHWC arr_0) of the decoded images', () => {
    const merge = cli(['merge', 'sharded', '--seeds', SEEDS, '--npz', 'samples.npz']);
    expect(merge.status).toBe(0);
    const seeds: number[] = [];
    forEachManifestLine(path.join(work, 'sharded', 'manifest.jsonl'), ({ text }) => {
      const record = parseRecord(text);
      if (typeof record === 'string') throw new Error(record);
      seeds.push(Number(record.seed));
    });
    expect(seeds).toEqual(Array.from({ length: SEED_COUNT }, (_, s) => s));
    const entries = unzipSync(new Uint8Array(fs.readFileSync(path.join(work, 'samples.npz'))));
    expect(Object.keys(entries)).toEqual(['arr_0.npy']);
    const npy = entries['arr_0.npy'];
    const headerLength = npy[8] | (npy[9] << 8);
    const header = Buffer.from(npy.subarray(10, 10 + headerLength)).toString('latin1');
    expect(header).toContain("'descr': '|u1'");
    expect(header).toContain("'shape': (40, 32, 32, 3)");
    expect((10 + headerLength) % 64).toBe(0);
    const data = npy.subarray(10 + headerLength);
    expect(data.length).toBe(SEED_COUNT * 32 * 32 * 3);
    for (const s of [0, 17, 39]) {
      const pixels = decodePng(single1.get(`seed${s}.png`)!).data;
      expect(Buffer.from(data.subarray(s * 3072, (s + 1) * 3072)).equals(Buffer.from(pixels))).toBe(true);
    }
  });

  test('a tampered file and a deleted one: verify names both and exits non-zero; merge writes nothing; resume repairs', () => {
    fs.cpSync(path.join(work, 'sharded'), path.join(work, 'damaged'), { recursive: true });
    fs.rmSync(path.join(work, 'damaged', 'manifest.jsonl'));
    const tampered = path.join(work, 'damaged', 'seed5.png');
    fs.writeFileSync(tampered, single1.get('seed6.png')!); // a valid PNG, the wrong image
    fs.rmSync(path.join(work, 'damaged', 'seed33.png'));
    const verify = cli(['verify', 'damaged', '--seeds', SEEDS]);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toMatch(/seed 5: seed5\.png does not match its record/);
    expect(verify.stdout).toMatch(/seed 33: seed33\.png is missing/);
    expect(verify.stdout).toContain('FAILED: 2 problem(s)');
    expect(verify.stderr).toContain('verify: 2 problem(s) in damaged');
    const merge = cli(['merge', 'damaged', '--seeds', SEEDS, '--npz', 'damaged.npz']);
    expect(merge.status).toBe(1);
    expect(fs.existsSync(path.join(work, 'damaged.npz'))).toBe(false);
    expect(fs.existsSync(path.join(work, 'damaged', 'manifest.jsonl'))).toBe(false);
    // A verify over more seeds than were made names the missing ones as a range.
    const wider = cli(['verify', 'sharded', '--seeds', '0-45']);
    expect(wider.status).toBe(1);
    expect(wider.stdout).toContain('missing: 6 seed(s) have no record: 40-45');
    // Re-running the shards regenerates exactly the two damaged seeds.
    for (const shard of ['0/4', '3/4']) expect(cli(['generate', ...COMMON, '--shard', shard, '--out-dir', 'damaged']).status).toBe(0);
    expect(cli(['verify', 'damaged', '--seeds', SEEDS]).status).toBe(0);
    expect(fs.readFileSync(tampered).equals(single1.get('seed5.png')!)).toBe(true);
  }, 300_000);
});

describe('--seeds-per-forward beyond the defaults', () => {
  test('eta 1 (variance noise drawn every step) gives the same bytes with K = 4 as alone; and on the cpu backend too', () => {
    const eta = ['generate', '--seeds', '0-7', '--steps', '2', '--eta', '1', '--backend', 'wasm'];
    expect(cli([...eta, '--out-dir', 'eta-k1']).status).toBe(0);
    expect(cli([...eta, '--out-dir', 'eta-k4', '--seeds-per-forward', '4']).status).toBe(0);
    const k1 = pngsOf(path.join(work, 'eta-k1'));
    expect(k1.size).toBe(8);
    for (const [name, bytes] of pngsOf(path.join(work, 'eta-k4'))) expect(bytes.equals(k1.get(name)!)).toBe(true);

    // cpu is batch-invariant too (spec/models/unet/batch-invariance.spec.ts): K = 3 runs grouped, the same bytes.
    const cpu = ['generate', '--seeds', '0-2', '--steps', '1', '--backend', 'cpu'];
    expect(cli([...cpu, '--out-dir', 'cpu-k1']).status).toBe(0);
    const grouped = cli([...cpu, '--out-dir', 'cpu-k3', '--seeds-per-forward', '3']);
    expect(grouped.status).toBe(0);
    expect(grouped.stderr).not.toContain('batch-invariant');
    const alone = pngsOf(path.join(work, 'cpu-k1'));
    expect(alone.size).toBe(3);
    for (const [name, bytes] of pngsOf(path.join(work, 'cpu-k3'))) expect(bytes.equals(alone.get(name)!)).toBe(true);
  }, 300_000);
});

describe('a hostile manifest', () => {
  test('a 64 MiB line, junk lines and a torn tail: verify stays in a 32 MiB heap and reports instead of reading them whole', () => {
    const dir = path.join(work, 'hostile');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'manifest-0-of-1.jsonl');
    fs.writeFileSync(file, `[]\n${'{'.repeat(100_000)}\nnot json\n`);
    const fd = fs.openSync(file, 'a');
    const block = Buffer.alloc(1 << 20, 0x7b); // '{'
    for (let i = 0; i < 64; i++) fs.writeSync(fd, block);
    fs.writeSync(fd, '\n{"v":1');
    fs.closeSync(fd);
    const run = spawnSync(process.execPath, ['--max-old-space-size=32', CLI_BIN, 'verify', 'hostile', '--seeds', '0-3'], {
      cwd: work,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('manifest-0-of-1.jsonl line 1: not a JSON object');
    expect(run.stdout).toContain('manifest-0-of-1.jsonl line 2: not JSON');
    expect(run.stdout).toContain('manifest-0-of-1.jsonl line 3: not JSON');
    expect(run.stdout).toContain('manifest-0-of-1.jsonl line 4: not JSON');
    expect(run.stdout).toContain('a torn last line of 6 bytes');
    expect(run.stdout).toContain('missing: 4 seed(s) have no record: 0-3');
  });
});

describe('shards from a Slurm array, and refusals', () => {
  test('SLURM_ARRAY_TASK_ID with _MIN/_MAX/_STEP/_COUNT picks the shard; a non-range array is refused by name', () => {
    // --array=10-40:10 → ids 10, 20, 30, 40 = shards 0..3; id 30 is shard 2 of 4: seeds 20-29 of 0-39.
    const slurm = { SLURM_ARRAY_TASK_ID: '30', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_MAX: '40', SLURM_ARRAY_TASK_STEP: '10', SLURM_ARRAY_TASK_COUNT: '4' };
    const run = cli(['generate', '--seeds', SEEDS, '--steps', '1', '--backend', 'wasm', '--json'], slurm);
    expect(run.status).toBe(0);
    expect(run.stdout.trim().split('\n').map((l) => JSON.parse(l).seed)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
    // --array=1,3,10: COUNT 3 but MIN..MAX spans 10 ids.
    const sparse = cli(['generate', ...COMMON], { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '10', SLURM_ARRAY_TASK_COUNT: '3' });
    expect(sparse.status).toBe(2);
    expect(sparse.stderr).toContain("this Slurm array's task ids are not one range");
    expect(sparse.stderr).toContain('SLURM_ARRAY_TASK_COUNT=3');
    const noShards = cli(['generate', ...COMMON], { JOB_COMPLETION_INDEX: '1' });
    expect(noShards.status).toBe(2);
    expect(noShards.stderr).toContain('JOB_COMPLETION_INDEX=1 is set (a Kubernetes Indexed Job) but --shards is not');
  });
});
