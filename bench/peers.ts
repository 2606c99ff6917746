/**
 * The peers bench/run.ts measures the library against, set up on demand in a cache folder (never dependencies of
 * the package): diffusers' own UNet2DModel on PyTorch (bench/torch_unet.py, diffusers from its source tree) and the
 * same network exported with torch.onnx.export, run by onnxruntime-node (ONNXRUNTIME_VERSION) (bench/onnxruntime-unet.ts).
 * Each setup returns what it found, or a sentence saying why the peer cannot run here.
 *
 * Cache folder: $TFJS_DIFFUSERS_BENCH_CACHE, else ~/.cache/tfjs-diffusers-bench. diffusers' source: the
 * PYTHONPATH in $TFJS_DIFFUSERS_BENCH_PYTHONPATH, else <cache>/python/diffusers/src and
 * <cache>/python/huggingface_hub/src (`git archive` of their tags v0.30.3 and v0.24.7, unpacked there) with
 * <cache>/python/pyshim when present (a pure-Python `safetensors` and the package metadata diffusers' import checks
 * look for).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ONNXRUNTIME_VERSION = '1.30.0';
export const TORCH_PREFIX = 'TORCH_UNET_RESULT ';
const REPO_ROOT = path.resolve(__dirname, '..', '..');

export function benchCacheDir(): string {
  return process.env.TFJS_DIFFUSERS_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'tfjs-diffusers-bench');
}

/** A python3 with torch, the environment that lets it import diffusers, and diffusers' version; or why not. */
export interface PythonPeer {
  python: string;
  env: NodeJS.ProcessEnv;
}

/** The PYTHONPATH entries under which diffusers' source tree is looked for. */
function diffusersPythonPath(): string {
  if (process.env.TFJS_DIFFUSERS_BENCH_PYTHONPATH) return process.env.TFJS_DIFFUSERS_BENCH_PYTHONPATH;
  const src = path.join(benchCacheDir(), 'python');
  const shim = path.join(src, 'pyshim');
  return [...(fs.existsSync(shim) ? [shim] : []), path.join(src, 'diffusers', 'src'), path.join(src, 'huggingface_hub', 'src')].join(path.delimiter);
}

export function findPythonPeer(): PythonPeer | string {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: [diffusersPythonPath(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    HF_HUB_OFFLINE: '1',
    // Debian's torch calls OpenBLAS (pthreads) for some products: its own threads on top of torch's OpenMP pool
    // would oversubscribe the cores. Users' OpenMP settings are left alone (OMP_WAIT_POLICY stays the default).
    OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '1',
  };
  let sawTorch = false;
  for (const python of ['python3', '/usr/bin/python3']) {
    if (spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) continue;
    sawTorch = true;
    if (spawnSync(python, ['-c', 'from diffusers import UNet2DModel'], { encoding: 'utf8', env }).status === 0) return { python, env };
  }
  return sawTorch
    ? `diffusers' UNet2DModel is not importable (set TFJS_DIFFUSERS_BENCH_PYTHONPATH or unpack its source under ${path.join(benchCacheDir(), 'python')})`
    : 'PyTorch is not installed (`apt-get install python3-torch`)';
}

/** The ONNX export of diffusers' UNet2DModel for the ddpm-cifar10-32 config, made once into the cache. */
export function onnxModel(peer: PythonPeer | string): string {
  const file = path.join(benchCacheDir(), 'ddpm-cifar10-32-unet.onnx');
  if (fs.existsSync(file)) return file;
  if (typeof peer === 'string') throw new Error(`no ONNX export of the UNet: ${peer}`);
  fs.mkdirSync(benchCacheDir(), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  const run = spawnSync(peer.python, [path.join(REPO_ROOT, 'bench', 'torch_unet.py'), '--export-onnx', partial], { encoding: 'utf8', env: peer.env });
  if (run.status !== 0 || !fs.existsSync(partial)) {
    fs.rmSync(partial, { force: true });
    throw new Error(`torch.onnx.export failed: ${(run.stderr ?? '').trim().split('\n').pop()}`);
  }
  fs.renameSync(partial, file);
  return file;
}

/** onnxruntime-node's folder in the cache, installed there with npm on first use (CUDA binaries skipped). */
export function onnxruntimeModule(): string {
  const prefix = path.join(benchCacheDir(), `onnxruntime-node-${ONNXRUNTIME_VERSION}`);
  const module = path.join(prefix, 'node_modules', 'onnxruntime-node');
  if (fs.existsSync(path.join(module, 'package.json'))) return module;
  fs.mkdirSync(prefix, { recursive: true });
  if (!fs.existsSync(path.join(prefix, 'package.json'))) fs.writeFileSync(path.join(prefix, 'package.json'), '{"name":"bench-onnxruntime","private":true}\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--no-save', `onnxruntime-node@${ONNXRUNTIME_VERSION}`], {
    cwd: prefix,
    encoding: 'utf8',
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' },
    timeout: 600_000,
  });
  if (run.status !== 0 || !fs.existsSync(path.join(module, 'package.json'))) {
    throw new Error(`npm install onnxruntime-node@${ONNXRUNTIME_VERSION} failed: ${(run.stderr ?? '').trim().split('\n').pop()}`);
  }
  return module;
}
