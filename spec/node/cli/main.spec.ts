import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CliIO } from '../../../lib/node/cli/cli-io';
import { DEMO_OUTPUT, EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_USAGE, main } from '../../../lib/node/cli/main';
import { decodePng, floatToByte } from '../../../lib/node/png';
import { RunRecord } from '../../../lib/node/cli/generate';
import { fixturePath } from '../../helpers/fixtures';
import { FakeHub } from '../hub/hub-server';
import { pipelineCase } from '../../pipelines/pipeline-fixture';
import { closedPort } from '../../helpers/ports';
import { buildCliPackage } from '../../helpers/built-cli';

/** A captured run of the CLI, in-process. */
interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runIn(cwd: string, env: Record<string, string | undefined> = {}, isTTY = false) {
  return async (...argv: string[]): Promise<CliRun> => {
    let stdout = '';
    let stderr = '';
    const io: CliIO = {
      stdout: (text) => void (stdout += text),
      stderr: { isTTY, write: (text: string) => ((stderr += text), true) },
      env,
      cwd,
    };
    const code = await main(argv, io);
    return { code, stdout, stderr };
  };
}

/** The value of an `abs-sum` line, checked for its format: 4 decimals. */
function absSumOf(line: string): number {
  expect(line).toMatch(/^abs-sum \d+\.\d{4}$/);
  return Number(line.split(' ')[1]);
}

// The embedded model is the fixture UNet with the fixture scheduler, so the CLI's figure for seed 0, 2 steps, eta 0
// is the fixture's np.abs(image).sum(). The printed value is the float32 figure to 4 decimals: within 2 float32 ulps
// (2.4e-4 at 1408) plus the rounding to 4 decimals (5e-5), the tolerance of the pipeline parity tests.
const DEMO_CASE = pipelineCase('tiny_s2_eta0_b1_seed0');
const ABS_SUM_TOLERANCE = 2 * 2 ** -13 + 5e-5;

describe('tfjs-diffusers CLI (in-process main)', () => {
  let tmp: string;
  let cli: (...argv: string[]) => Promise<CliRun>;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    cli = runIn(tmp);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('generate: one abs-sum line on stdout, a PNG of the images (numpy_to_pil bytes), nothing on stderr off a terminal', async () => {
    const run = await cli('generate', '--seed', '0', '--steps', '2', '--backend', 'wasm', '--out', 'img.png');
    expect(run).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(run.stdout.endsWith('\n')).toBe(true);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(Math.abs(absSumOf(lines[0]) - DEMO_CASE.image_abs_sum)).toBeLessThanOrEqual(ABS_SUM_TOLERANCE);
    const png = decodePng(fs.readFileSync(path.join(tmp, 'img.png')));
    expect([png.width, png.height, png.channels]).toEqual([32, 32, 3]);
    // The images match diffusers within 1e-4, so a byte can differ by one where a value sits on a rounding edge.
    const expected = DEMO_CASE.images.data.map(floatToByte);
    let differing = 0;
    png.data.forEach((b, i) => {
      expect(Math.abs(b - expected[i])).toBeLessThanOrEqual(1);
      if (b !== expected[i]) differing++;
    });
    expect(differing).toBeLessThan(10);
  });

  test('generate --json: one parseable record per run; --seeds and --batch give a grid per seed in --out-dir', async () => {
    const run = await cli('generate', '--seeds', '0-1', '--steps', '1', '--batch', '2', '--eta', '1', '--backend', 'wasm', '--out-dir', 'imgs', '--json');
    expect(run.code).toBe(EXIT_OK);
    const records = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as RunRecord);
    expect(records.map((r) => [r.seed, r.steps, r.eta, r.batch, r.backend, r.file])).toEqual([
      [0, 1, 1, 2, 'wasm', path.join('imgs', 'seed0.png')],
      [1, 1, 1, 2, 'wasm', path.join('imgs', 'seed1.png')],
    ]);
    for (const r of records) {
      expect(r.seconds).toBeGreaterThanOrEqual(0);
      expect(r.absSum).toBeGreaterThan(0);
      const png = decodePng(fs.readFileSync(path.join(tmp, r.file!)));
      expect([png.width, png.height]).toEqual([64, 32]); // 2 images side by side
    }
    expect(records[0].absSum).not.toBe(records[1].absSum);
  });

  test.each([
    [['--steps', 'abc'], '--steps: expected a positive integer, got "abc"'],
    [['--steps', '0'], '--steps: expected a positive integer, got "0"'],
    [['--batch', '-2'], '--batch: expected a positive integer, got "-2"'],
    [['--eta', 'x'], '--eta: expected a number >= 0, got "x"'],
    [['--seed', '1.5'], '--seed: expected an integer seed, got "1.5"'],
    [['--seeds', '5-1'], '--seeds: range "5-1" ends before it starts'],
    [['--seed', '1', '--seeds', '2'], '--seed and --seeds: give one or the other'],
    [['--backend', 'cuda'], '--backend: expected one of cpu, wasm, webgl, webgpu, tfjs-node, tfjs-node-gpu, got "cuda"'],
    [['--out', 'x.jpg'], '--out: expected a file name ending in .png, got "x.jpg"'],
    [['--seeds', '0-2', '--out', 'x.png'], '--out: names one file but --seeds "0-2" gives 3 runs; use --out-dir'],
    [['--bogus'], "unknown option '--bogus'"],
    [['--seed'], "option '--seed <n>' argument missing"],
  ])('generate %j: exit code 2, the message names the argument and the value', async (args, message) => {
    const run = await cli('generate', ...args);
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });

  test('more steps than the model was trained with is an argument error too', async () => {
    const run = await cli('generate', '--steps', '1001', '--backend', 'wasm');
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toContain(`--steps: expected at most the model's num_train_timesteps=1000, got "1001"`);
  });

  test('no command, or an unknown one, is a usage error; --help exits 0 and explains the random embedded model', async () => {
    expect((await cli()).code).toBe(EXIT_USAGE);
    expect((await cli('paint')).code).toBe(EXIT_USAGE);
    for (const args of [['--help'], ['generate', '--help']]) {
      const help = await cli(...args);
      expect(help.code).toBe(EXIT_OK);
      expect(help.stdout).toContain('weights are RANDOM');
      expect(help.stdout).toContain('--model google/ddpm-cifar10-32');
      expect(help.stdout).toContain('tfjs-diffusers convert');
    }
  });

  test('an existing output is never overwritten without --force', async () => {
    const target = path.join(tmp, 'img.png');
    fs.writeFileSync(target, 'keep me');
    const refused = await cli('generate', '--steps', '1', '--backend', 'wasm', '--out', 'img.png');
    expect(refused.code).toBe(EXIT_USAGE);
    expect(refused.stderr).toContain('--out: img.png already exists; pass --force to overwrite it');
    expect(fs.readFileSync(target, 'utf8')).toBe('keep me');
    fs.mkdirSync(path.join(tmp, 'imgs'));
    fs.writeFileSync(path.join(tmp, 'imgs', 'seed1.png'), 'keep me too');
    const refusedDir = await cli('generate', '--seeds', '0-1', '--steps', '1', '--backend', 'wasm', '--out-dir', 'imgs');
    expect(refusedDir.code).toBe(EXIT_USAGE);
    expect(refusedDir.stderr).toContain(`--out-dir: ${path.join('imgs', 'seed1.png')} already exists`);
    expect(fs.existsSync(path.join(tmp, 'imgs', 'seed0.png'))).toBe(false); // checked before any work

    const forced = await cli('generate', '--steps', '1', '--backend', 'wasm', '--out', 'img.png', '--force');
    expect(forced.code).toBe(EXIT_OK);
    expect(decodePng(fs.readFileSync(target)).width).toBe(32);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]); // no temporary left behind
  });

  test('a runtime error exits 1 with a clear message, the stack only with DEBUG', async () => {
    // An unreachable Hub (nothing listens on the port) and an empty cache: offline, as this machine is.
    const port = await closedPort();
    const offline = runIn(tmp, { HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_HOME: path.join(tmp, 'hf') });
    const run = await offline('generate', '--model', 'org/not-cached', '--backend', 'wasm');
    expect(run.code).toBe(EXIT_RUNTIME_ERROR);
    expect(run.stderr).toContain(`tfjs-diffusers: error: cannot reach http://127.0.0.1:${port}`);
    expect(run.stderr).toContain('tfjs-diffusers convert');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const missing = await cli('generate', '--model', './missing-folder', '--backend', 'wasm');
    expect(missing.code).toBe(EXIT_RUNTIME_ERROR);
    expect(missing.stderr).toContain('"./missing-folder" is neither an existing folder nor a Hub id');
    const debug = await runIn(tmp, { DEBUG: '1' })('generate', '--model', './missing-folder', '--backend', 'wasm');
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  test('convert: a pipeline folder, once, with a summary; the result generates the same figure', async () => {
    const run = await cli('convert', fixturePath('tiny-unet'), 'tiny-tfjs');
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toMatch(/^converted .*tiny-unet → tiny-tfjs: 565,315 parameters, 2\.2 MiB in 4 files, \d+\.\d\d s\n$/);
    const converted = await cli('generate', '--model', 'tiny-tfjs', '--seed', '0', '--steps', '2', '--backend', 'wasm');
    const embedded = await cli('generate', '--seed', '0', '--steps', '2', '--backend', 'wasm');
    expect(converted.stdout).toBe(embedded.stdout);

    const again = await cli('convert', fixturePath('tiny-unet'), 'tiny-tfjs');
    expect(again.code).toBe(EXIT_USAGE);
    expect(again.stderr).toContain('<out_dir>: "tiny-tfjs" already exists; pass --force to replace it');
    expect((await cli('convert', fixturePath('tiny-unet'), 'tiny-tfjs', '--force')).code).toBe(EXIT_OK);
    const missing = await cli('convert', 'nope', 'out2');
    expect(missing.code).toBe(EXIT_USAGE);
    expect(missing.stderr).toContain('<diffusers_dir>: expected a folder, got "nope" (no such folder)');
  });

  test(`demo: seed 0, 2 steps on the embedded model; writes ${DEMO_OUTPUT}, and may overwrite its own output`, async () => {
    for (let i = 0; i < 2; i++) {
      const run = await cli('demo', '--backend', 'wasm');
      expect(run.code).toBe(EXIT_OK);
      expect(Math.abs(absSumOf(run.stdout.trimEnd()) - DEMO_CASE.image_abs_sum)).toBeLessThanOrEqual(ABS_SUM_TOLERANCE);
      expect(run.stderr).toContain('random');
      expect(decodePng(fs.readFileSync(path.join(tmp, DEMO_OUTPUT))).width).toBe(32);
    }
  });

  test('a progress bar (steps, it/s) appears on stderr only when it is a terminal', async () => {
    const run = await runIn(tmp, {}, true)('generate', '--steps', '3', '--backend', 'wasm');
    expect(run.code).toBe(EXIT_OK);
    expect(run.stderr).toContain('3/3 steps');
    expect(run.stderr).toContain('it/s');
    expect(run.stdout).toMatch(/^abs-sum \d+\.\d{4}\n$/);
  });

  test('--model <hub id> downloads through HF_ENDPOINT into HF_HOME, converts once, and generates', async () => {
    const hub = new FakeHub();
    const files: Record<string, Uint8Array> = {
      'config.json': new Uint8Array(fs.readFileSync(fixturePath('tiny-unet', 'config.json'))),
      'diffusion_pytorch_model.safetensors': new Uint8Array(fs.readFileSync(fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors'))),
    };
    hub.addRepo('org/tiny-unet', files, ['diffusion_pytorch_model.safetensors']);
    await hub.start();
    try {
      const hubCli = runIn(tmp, { HF_ENDPOINT: hub.url, HF_HOME: path.join(tmp, 'hf') });
      const first = await hubCli('generate', '--model', 'org/tiny-unet', '--seed', '0', '--steps', '2', '--backend', 'wasm');
      expect(first.code).toBe(EXIT_OK);
      expect(first.stderr).toContain('converting org/tiny-unet to the tfjs format, once');
      const second = await hubCli('generate', '--model', 'org/tiny-unet', '--seed', '0', '--steps', '2', '--backend', 'wasm');
      expect(second.stderr).not.toContain('converting');
      const embedded = await cli('generate', '--seed', '0', '--steps', '2', '--backend', 'wasm');
      expect(first.stdout).toBe(embedded.stdout);
      expect(second.stdout).toBe(embedded.stdout);
    } finally {
      await hub.stop();
    }
  });
});

describe('tfjs-diffusers CLI, built and spawned as the bin', () => {
  let pkg: string;
  let bin: string;
  beforeAll(() => {
    ({ root: pkg, bin } = buildCliPackage());
  }, 120000);
  afterAll(() => fs.rmSync(pkg, { recursive: true, force: true }));

  test('dist/node/cli/main.js has the shebang; `demo` prints the abs-sum and writes the PNG; bad arguments exit 2', () => {
    expect(fs.readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-spawn-'));
    try {
      const demo = spawnSync(process.execPath, [bin, 'demo', '--backend', 'wasm'], { cwd, encoding: 'utf8', env: { ...process.env, DEBUG: '' } });
      expect(demo.status).toBe(0);
      expect(Math.abs(absSumOf(demo.stdout.trimEnd()) - DEMO_CASE.image_abs_sum)).toBeLessThanOrEqual(ABS_SUM_TOLERANCE);
      expect(decodePng(fs.readFileSync(path.join(cwd, DEMO_OUTPUT))).width).toBe(32);
      const bad = spawnSync(process.execPath, [bin, 'generate', '--steps', 'abc'], { cwd, encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('--steps: expected a positive integer, got "abc"');
      expect(bad.stdout).toBe('');
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
