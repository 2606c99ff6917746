// Issue 22's new-user list, as a new user meets it: the built bin in a child process, in a fresh folder, with the
// files a user (or someone else) left there. Each test is one item of the list.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI_BIN, EXIT, REPO_ROOT, runCli } from '../../helpers/cli';
import { closedPort } from '../../helpers/ports';
import { startStaticServer } from '../../../test-support/static-server';

let tmp: string;
const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, { cwd: tmp, env, timeoutMs: 90_000 });

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'new-user-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the build keeps the bin executable (npx tfjs-diffusers after a rebuild)', () => {
  expect(fs.statSync(CLI_BIN).mode & 0o111).toBe(0o111);
});

test('`generate --help | head -1`: the first help line, no EPIPE stack trace, exit 0', () => {
  const run = spawnSync('bash', ['-c', 'set -o pipefail; "$0" "$1" generate --help | head -1', process.execPath, CLI_BIN], { cwd: tmp, encoding: 'utf8' });
  expect(run.stdout).toBe('Usage: tfjs-diffusers generate [options]\n');
  expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
  expect(run.status).toBe(0);
});

test('`generate --seeds 0-99 | head -1`: stops quietly at the next line once the reader is gone', () => {
  const run = spawnSync('bash', ['-c', '"$0" "$1" generate --seeds 0-99 --steps 1 --out-dir o 2>err.txt | head -1', process.execPath, CLI_BIN], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
  expect(run.stdout).toMatch(/^abs-sum \d+\.\d{4}\n$/);
  expect(fs.readFileSync(path.join(tmp, 'err.txt'), 'utf8')).not.toMatch(/EPIPE|Unhandled|at /);
  // The second line's write fails (EPIPE) and the run ends there: 2 images, not 100.
  expect(fs.readdirSync(path.join(tmp, 'o')).filter((f) => f.endsWith('.png')).length).toBeLessThanOrEqual(3);
});

test('--model ./missing is a bad argument: exit 2, like a missing convert input', async () => {
  const run = await cli(['generate', '--model', './missing', '--steps', '2']);
  expect(run.stderr).toContain('--model: "./missing" does not exist');
  expect(run.code).toBe(EXIT.usage);
});

test('--model http://…: a model folder served over http loads (http: was once taken for a drive letter)', async () => {
  const server = await startStaticServer({ '/models/': path.join(REPO_ROOT, 'models') });
  try {
    const run = await cli(['generate', '--model', `${server.origin}/models/tiny-random`, '--seed', '0', '--steps', '2']);
    expect(run.stderr).not.toContain('does not exist');
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/abs-sum 1408\.806[34]/);
  } finally {
    await server.close();
  }
});

test('an existing --out file: the hint is --force only (--resume needs --out-dir)', async () => {
  fs.writeFileSync(path.join(tmp, 'a.png'), 'mine');
  const run = await cli(['generate', '--steps', '2', '--out', 'a.png']);
  expect(run.stderr).toContain('--out: a.png already exists; pass --force to overwrite it\n');
  expect(run.stderr).not.toContain('--resume');
  expect(run.code).toBe(EXIT.usage);
});

test('one seed is "1 seed"', async () => {
  const run = await cli(['generate', '--seeds', '0', '--steps', '1', '--shard', '0/1', '--out-dir', 'one']);
  expect(run.stderr).toContain(': seeds 0 (1 seed)\n');
  expect(run.code).toBe(EXIT.ok);
});

test('demo leaves an out/seed0.png it did not write alone, and replaces its own', async () => {
  fs.mkdirSync(path.join(tmp, 'out'));
  fs.writeFileSync(path.join(tmp, 'out', 'seed0.png'), 'my holiday photo');
  const refused = await cli(['demo']);
  expect(refused.stderr).toContain('demo: out/seed0.png exists and was not written by tfjs-diffusers');
  expect(refused.code).toBe(EXIT.usage);
  expect(fs.readFileSync(path.join(tmp, 'out', 'seed0.png'), 'utf8')).toBe('my holiday photo');
  fs.rmSync(path.join(tmp, 'out', 'seed0.png'));
  expect((await cli(['demo'])).code).toBe(EXIT.ok);
  const again = await cli(['demo']);
  // The demo runs wasm with the native kernels where they load (1408.8064, PyTorch's figure), plain wasm elsewhere
  // (1408.8063): the float32 sums differ in the last digit (README, models/README.md).
  expect(again.stdout).toMatch(/^abs-sum 1408\.806[34]\n$/);
  expect(again.code).toBe(EXIT.ok);
});

test('a failed Hub fetch leaves no empty --out-dir behind', async () => {
  const port = await closedPort();
  const run = await cli(['generate', '--model', 'google/ddpm-cifar10-32', '--steps', '2', '--out-dir', 'images'], {
    HF_ENDPOINT: `http://127.0.0.1:${port}`,
    HF_HOME: path.join(tmp, 'hf'),
    HF_HUB_OFFLINE: undefined,
  });
  expect(run.code).not.toBe(EXIT.ok);
  expect(fs.existsSync(path.join(tmp, 'images'))).toBe(false);
});

/** A diffusers pipeline folder of the tiny fixture UNet, with `scheduler_config.json` made by `scheduler`. */
function pipelineFolder(name: string, scheduler: (file: string) => void): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'unet'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'scheduler'));
  for (const f of ['config.json', 'diffusion_pytorch_model.safetensors']) fs.copyFileSync(path.join(REPO_ROOT, 'spec', 'fixtures', 'tiny-unet', f), path.join(dir, 'unet', f));
  fs.writeFileSync(path.join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'DDIMPipeline', unet: ['diffusers', 'UNet2DModel'], scheduler: ['diffusers', 'DDPMScheduler'] }));
  scheduler(path.join(dir, 'scheduler', 'scheduler_config.json'));
  return name;
}

test('convert refuses a scheduler_config.json symlinked out of the folder: nothing read, quoted or written', async () => {
  const secret = path.join(tmp, 'credentials.json');
  fs.writeFileSync(secret, JSON.stringify({ aws_secret_access_key: 'SECRET-VALUE-123' }));
  const src = pipelineFolder('linked', (file) => fs.symlinkSync(secret, file));
  const run = await cli(['convert', src, 'converted']);
  expect(run.stderr).toMatch(/scheduler_config\.json: resolves \(through a symlink\) outside the model folder .*linked: refused, nothing was read/);
  expect(run.stderr).not.toMatch(/SECRET|aws_secret/);
  expect(run.code).not.toBe(EXIT.ok);
  expect(fs.existsSync(path.join(tmp, 'converted'))).toBe(false);
});

test('a converted model_index.json records the source folder\'s name, not its absolute path', async () => {
  const src = pipelineFolder('ddpm-like', (file) =>
    fs.copyFileSync(path.join(REPO_ROOT, 'models', 'tiny-random', 'scheduler', 'scheduler_config.json'), file),
  );
  const run = await cli(['convert', src, 'converted']);
  expect(run.code).toBe(EXIT.ok);
  const index = fs.readFileSync(path.join(tmp, 'converted', 'model_index.json'), 'utf8');
  expect(JSON.parse(index)._tfjs_diffusers.converted_from).toBe('ddpm-like');
  expect(index).not.toContain(tmp);
});
