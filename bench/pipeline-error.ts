// The 50-step error figure: how far the library's DDIMPipeline image lands from diffusers' on PyTorch, on the
// full-size google/ddpm-cifar10-32 UNet with the deterministic weights of spec/fixtures/unet_full.json (seed 0,
// 50 DDIM steps, eta 0: deterministic DDIM, which amplifies every rounding step after step), per kernel path:
// the native kernels with Winograd (the default), without (`TFJS_DIFFUSERS_WINOGRAD=off`), and plain wasm. Each path
// runs in its own process, since the addon reads its settings when it loads. For scale, it also prints the same
// figure between two PyTorch runs at 1 and 2 threads (PyTorch's own rounding spread). Prints a table.
//
//   npx tsc -p bench/tsconfig.json && node build/bench/pipeline-error.js [--steps 50] [--seed 0] [--eta 0]
//
// Needs the PyTorch peer of bench/peers.ts (Debian's python3-torch and diffusers' source tree).
import '../lib/node/register-node-loaders';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { setBackend } from '../lib/node/backends/set-backend';
import { nativeKernelsStatus } from '../lib/node/backends/native';
import { DDIMPipeline } from '../lib/pipelines/ddim-pipeline';
import { imageAbsSum } from '../lib/pipelines/image-abs-sum';
import { Generator } from '../lib/random/generator';
import { parseBenchArgs, positiveInt } from './args';
import { childJson } from './child-json';
import { findPythonPeer } from './peers';
import { maxAbsDiff } from './stats';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CHILD_PREFIX = 'PIPELINE_ERROR_RESULT ';

interface Options {
  steps: number;
  seed: number;
  eta: number;
}

/** A kernel path of the table: its label, whether the native kernels run, and the environment it loads under. */
const PATHS = [
  { label: 'wasm + native kernels (Winograd on, the default)', native: true, env: {} },
  { label: 'wasm + native kernels, TFJS_DIFFUSERS_WINOGRAD=off', native: true, env: { TFJS_DIFFUSERS_WINOGRAD: 'off' } },
  { label: 'plain wasm (XNNPACK)', native: false, env: {} },
] as const;

interface ChildResult {
  maxAbs: number;
  absSum: number;
  kernels: string;
  seconds: number;
}

function readF32(file: string): Float32Array {
  const bytes = fs.readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The child: one path, one generate() from the pipeline folder PyTorch saved, compared with its image. */
async function child(folder: string, native: boolean, options: Options): Promise<ChildResult> {
  await setBackend('wasm', { threads: 1, native });
  const pipeline = await DDIMPipeline.fromPretrained(folder);
  const started = Date.now();
  const { images } = await pipeline.generate({
    generator: new Generator().manualSeed(options.seed),
    numInferenceSteps: options.steps,
    eta: options.eta,
    outputType: 'array',
  });
  const seconds = (Date.now() - started) / 1000;
  const reference = readF32(path.join(folder, 'image.f32'));
  const absSum = imageAbsSum(images);
  const status = nativeKernelsStatus();
  const kernels = status.enabled ? `native ${String(status.info?.isa)} (winograd ${String(status.info?.winograd)})` : 'plain wasm';
  pipeline.dispose();
  return { maxAbs: maxAbsDiff(images.data, reference), absSum, kernels, seconds };
}

/** diffusers on PyTorch: the pipeline folder and image for `threads`, made once per setting into `dir`. */
function torchReference(dir: string, options: Options, threads: number): { folder: string; absSum: number; seconds: number } {
  const peer = findPythonPeer();
  if (typeof peer === 'string') throw new Error(`bench/pipeline-error: no PyTorch reference: ${peer}`);
  const folder = path.join(dir, `torch-${threads}-threads`);
  const run = spawnSync(
    peer.python,
    [path.join(REPO_ROOT, 'bench', 'torch_ddim_reference.py'), '--fixture', path.join(REPO_ROOT, 'spec', 'fixtures', 'unet_full.json'), '--out', folder, '--steps', String(options.steps), '--seed', String(options.seed), '--eta', String(options.eta), '--threads', String(threads)],
    { encoding: 'utf8', env: peer.env, maxBuffer: 16 * 1024 * 1024 },
  );
  const result = childJson<{ absSum: number; seconds: number }>(`the PyTorch reference at ${threads} threads`, run, 'TORCH_DDIM_RESULT ');
  return { folder, ...result };
}

function parseOptions(argv: string[]): Options & { child?: string; native?: boolean } {
  const script = 'bench/pipeline-error';
  const { values } = parseBenchArgs(
    script,
    {
      steps: { type: 'string', default: '50' },
      seed: { type: 'string', default: '0' },
      eta: { type: 'string', default: '0' },
      child: { type: 'string' },
      native: { type: 'string', default: 'on' },
    },
    argv,
  );
  const eta = Number(values.eta);
  if (!(eta >= 0 && eta <= 1)) throw new Error(`${script}: --eta must be within [0, 1], got ${values.eta}`);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${script}: --seed must be a non-negative integer, got ${values.seed}`);
  return { steps: positiveInt(script, 'steps', values.steps), seed, eta, child: values.child, native: values.native !== 'off' };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.child !== undefined) {
    const result = await child(options.child, options.native ?? true, options);
    process.stdout.write(`${CHILD_PREFIX}${JSON.stringify(result)}\n`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-pipeline-error-'));
  try {
    const reference = torchReference(dir, options, 2);
    const other = torchReference(dir, options, 1);
    const torchSpread = maxAbsDiff(readF32(path.join(reference.folder, 'image.f32')), readF32(path.join(other.folder, 'image.f32')));
    console.log(`Pipeline error against diffusers on PyTorch: full-size synthetic model (unet_full.json weights), seed ${options.seed}, ${options.steps} DDIM steps, eta ${options.eta}`);
    console.log(`(${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; PyTorch at 2 threads took ${reference.seconds.toFixed(1)} s, abs-sum ${reference.absSum.toFixed(4)})\n`);
    console.log('| path | max abs difference | abs-sum | seconds |');
    console.log('|---|---|---|---|');
    console.log(`| PyTorch 1 thread against 2 threads (its own spread) | ${torchSpread.toExponential(3)} | ${other.absSum.toFixed(4)} | ${other.seconds.toFixed(1)} |`);
    for (const p of PATHS) {
      const run = spawnSync(process.execPath, [__filename, '--child', reference.folder, '--native', p.native ? 'on' : 'off', '--steps', String(options.steps), '--seed', String(options.seed), '--eta', String(options.eta)], {
        encoding: 'utf8',
        env: { ...process.env, ...p.env },
        maxBuffer: 16 * 1024 * 1024,
      });
      const r = childJson<ChildResult>(p.label, run, CHILD_PREFIX);
      console.log(`| ${p.label}: ${r.kernels} | ${r.maxAbs.toExponential(3)} | ${r.absSum.toFixed(4)} | ${r.seconds.toFixed(1)} |`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
