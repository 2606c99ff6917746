import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodePng, floatToByte } from '../../../lib/node/png';
import type { RunRecord } from '../../../lib/node/cli/generate';
import { DEMO_OUTPUT } from '../../../lib/node/cli/main';
import { OUTPUT_MARKER } from '../../../lib/node/fs/output-folder';
import { fixturePath } from '../../helpers/fixtures';
import { CLI_BIN, CliRun, EXIT, runCli } from '../../helpers/cli';
import { FakeHub } from '../hub/hub-server';
import { pipelineCase } from '../../pipelines/pipeline-fixture';
import { closedPort } from '../../helpers/ports';

/**
 * The CLI as users run it from a shell: every test spawns the built bin (dist/node/cli/main.js) in a fresh Node
 * process, so nothing an earlier test set up in this process (a tfjs backend, registered loaders) can hide a defect.
 */
const EXIT_OK = EXIT.ok;
const EXIT_USAGE = EXIT.usage;
const EXIT_RUNTIME_ERROR = EXIT.runtime;

function runIn(cwd: string, env: Record<string, string | undefined> = {}, tty = false) {
  return (...argv: string[]): Promise<CliRun> => runCli(argv, { cwd, env, tty });
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

// Every test gets a fresh working folder, and `cli(...)` runs the bin there.
let tmp: string;
let cli: (...argv: string[]) => Promise<CliRun>;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  cli = runIn(tmp);
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('tfjs-diffusers CLI (the built bin, one fresh process per command)', () => {
  test('generate: one abs-sum line on stdout, a PNG of the images (numpy_to_pil bytes), nothing on stderr off a terminal', async () => {
    // The default backend (the fastest installed), as a user who names none gets it.
    const run = await cli('generate', '--seed', '0', '--steps', '2', '--out', 'img.png');
    expect(run.code).toBe(EXIT_OK);
    // Off a terminal stderr is silent, but for the one-line note where the optional native kernels are absent.
    expect(run.stderr.split('\n').filter((line) => line !== '' && !/native/.test(line))).toEqual([]);
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
    // --resume needs --out-dir: suggested only there (issue 22).
    expect(refused.stderr).toContain('--out: img.png already exists; pass --force to overwrite it\n');
    expect(fs.readFileSync(target, 'utf8')).toBe('keep me');
    fs.mkdirSync(path.join(tmp, 'imgs'));
    fs.writeFileSync(path.join(tmp, 'imgs', 'seed1.png'), 'keep me too');
    const refusedDir = await cli('generate', '--seeds', '0-1', '--steps', '1', '--backend', 'wasm', '--out-dir', 'imgs');
    expect(refusedDir.code).toBe(EXIT_USAGE);
    expect(refusedDir.stderr).toContain(`--out-dir: ${path.join('imgs', 'seed1.png')} already exists; pass --force to overwrite it (or --resume`);
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
    // A folder that exists but holds no model is a runtime error (a missing one is a bad argument: new-user.spec.ts).
    fs.mkdirSync(path.join(tmp, 'empty-folder'));
    const empty = await cli('generate', '--model', './empty-folder', '--backend', 'wasm');
    expect(empty.code).toBe(EXIT_RUNTIME_ERROR);
    expect(empty.stderr).toContain('tfjs-diffusers: error: ');
    expect(empty.stderr).toContain('empty-folder');
    expect(empty.stderr).not.toMatch(/\n\s+at /);
    const debug = await runIn(tmp, { DEBUG: '1' })('generate', '--model', './empty-folder', '--backend', 'wasm');
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
    const onTerminal = await runIn(tmp, {}, true)('generate', '--steps', '3', '--backend', 'wasm');
    expect(onTerminal.code).toBe(EXIT_OK);
    // On a pseudo-terminal stdout and stderr arrive merged.
    expect(onTerminal.stdout).toContain('3/3 steps');
    expect(onTerminal.stdout).toContain('it/s');
    expect(onTerminal.stdout).toMatch(/abs-sum \d+\.\d{4}\r?\n/);
    const piped = await cli('generate', '--steps', '3', '--backend', 'wasm');
    expect(piped.stderr).not.toContain('steps');
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

describe('tfjs-diffusers CLI: flags, hostile arguments and outputs', () => {
  test('the bin has the shebang; --version prints package.json\'s version', async () => {
    expect(fs.readFileSync(CLI_BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const version = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')).version;
    for (const flag of ['--version', '-V']) expect(await cli(flag)).toMatchObject({ code: EXIT_OK, stdout: `${version}\n` });
  });

  test.each([
    [['--eta', '0x10'], '--eta: expected a number >= 0, got "0x10"'],
    [['--eta', 'Infinity'], '--eta: expected a number >= 0, got "Infinity"'],
    [['--steps', '0x10'], '--steps: expected a positive integer, got "0x10"'],
    [['--batch', '100000000'], '--batch: expected at most 4096 images per run, got "100000000"'],
    [['--threads', '0'], '--threads: expected a positive integer, got "0"'],
    [['--threads', '1000'], '--threads: expected at most 64, got "1000"'],
    [['--native', 'yes'], '--native: expected on, off or auto, got "yes"'],
    [['--native', 'on', '--backend', 'cpu'], '--native on: the native kernels run on the wasm backend only, got --backend "cpu"'],
  ])('generate %j is refused at once (exit 2), naming the argument and the value', async (args, message) => {
    const run = await cli('generate', ...args);
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toContain(message);
  });

  test('--threads and --native off run plain wasm and give the same figure as the defaults', async () => {
    const plain = await cli('generate', '--steps', '2', '--backend', 'wasm', '--native', 'off', '--threads', '1');
    const defaults = await cli('generate', '--steps', '2');
    expect(plain.code).toBe(EXIT_OK);
    expect(plain.stderr).not.toMatch(/native/);
    expect(Math.abs(absSumOf(plain.stdout.trimEnd()) - absSumOf(defaults.stdout.trimEnd()))).toBeLessThanOrEqual(ABS_SUM_TOLERANCE);
  });

  test('an output folder that cannot be written fails before any work, naming the flag and the folder', async () => {
    fs.writeFileSync(path.join(tmp, 'a-file'), 'not a folder');
    const started = Date.now();
    const run = await cli('generate', '--steps', '50', '--out-dir', path.join('a-file', 'images'));
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toContain(`--out-dir: cannot write into ${path.join('a-file', 'images')} (ENOTDIR)`);
    expect(Date.now() - started).toBeLessThan(20000); // 50 steps were never run
    const file = await cli('generate', '--out', path.join('a-file', 'x.png'));
    expect(file.code).toBe(EXIT_USAGE);
    expect(file.stderr).toContain(`--out: cannot write into a-file (`);
    expect(fs.readFileSync(path.join(tmp, 'a-file'), 'utf8')).toBe('not a folder');
  });

  test('convert never deletes what it did not write: an output that is, holds or lies inside the source, or a foreign folder', async () => {
    const models = path.join(tmp, 'models');
    fs.cpSync(fixturePath('tiny-unet'), path.join(models, 'my-unet'), { recursive: true });
    fs.writeFileSync(path.join(models, 'notes.txt'), 'a sibling file');
    const listing = () => fs.readdirSync(models).sort();
    const before = listing();

    const holds = await cli('convert', 'models/my-unet', 'models', '--force');
    expect(holds.code).toBe(EXIT_USAGE);
    expect(holds.stderr).toContain('contains the source folder');
    const inside = await cli('convert', 'models/my-unet', 'models/my-unet/tfjs', '--force');
    expect(inside.code).toBe(EXIT_USAGE);
    expect(inside.stderr).toContain('lies inside the source folder');
    const same = await cli('convert', 'models/my-unet', 'models/./my-unet', '--force');
    expect(same.code).toBe(EXIT_USAGE);
    expect(same.stderr).toContain('is the source folder');
    expect(listing()).toEqual(before);

    fs.mkdirSync(path.join(tmp, 'mine'));
    fs.writeFileSync(path.join(tmp, 'mine', 'thesis.tex'), 'precious');
    const foreign = await cli('convert', 'models/my-unet', 'mine', '--force');
    expect(foreign.code).toBe(EXIT_USAGE);
    expect(foreign.stderr).toContain(`was not written by tfjs-diffusers (it holds 1 entry and no ${OUTPUT_MARKER} marker)`);
    expect(fs.readFileSync(path.join(tmp, 'mine', 'thesis.tex'), 'utf8')).toBe('precious');

    // Its own output, and an empty folder, --force may replace.
    expect((await cli('convert', 'models/my-unet', 'out')).code).toBe(EXIT_OK);
    expect(fs.existsSync(path.join(tmp, 'out', OUTPUT_MARKER))).toBe(true);
    expect((await cli('convert', 'models/my-unet', 'out', '--force')).code).toBe(EXIT_OK);
    fs.mkdirSync(path.join(tmp, 'empty'));
    expect((await cli('convert', 'models/my-unet', 'empty', '--force')).code).toBe(EXIT_OK);
  });
});

