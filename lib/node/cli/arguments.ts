import * as path from 'path';
import { BACKEND_NAMES, BackendName } from '../backends/set-backend';
import { seedFileName, SeedList, SeedSpan } from './seed-range';
import type { Shard } from './shard';

/** A bad command-line argument: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The most images one run (`--batch`) may hold: 4096 CIFAR-sized images are 50 MB per float32 tensor and a 64 × 64
 * grid PNG; beyond that a run fails late on memory instead of at once on its arguments.
 */
export const MAX_BATCH = 4096;

/** `--threads`: at most this many (the wasm backend's pool caps at 8 too). */
export const MAX_THREADS = 64;

/** torch's `manual_seed` range: [−2^63, 2^64 − 1]. */
const SEED_MIN = -(2n ** 63n);
const SEED_MAX = 2n ** 64n - 1n;

function quoted(raw: string): string {
  return JSON.stringify(raw);
}

/**
 * `--steps 50` → 50; anything but a whole number ≥ 1 is a {@link UsageError} naming the flag and the value.
 *
 * ```ts
 * parsePositiveInteger('--steps', 'abc'); // throws: --steps: expected a positive integer, got "abc"
 * ```
 */
export function parsePositiveInteger(flag: string, raw: string): number {
  const text = raw.trim();
  if (!/^\+?\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag}: expected a positive integer, got ${quoted(raw)}`);
  }
  return Number(text);
}

/** A plain decimal number: digits with an optional point and exponent (no hex, binary, octal, Infinity or NaN). */
const DECIMAL = /^[+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** `--eta 0.5` → 0.5; a finite decimal number ≥ 0, else a {@link UsageError} (`0x10` is not 16 here). */
export function parseNonNegativeNumber(flag: string, raw: string): number {
  const text = raw.trim();
  const value = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`${flag}: expected a number >= 0, got ${quoted(raw)}`);
  }
  return value;
}

/** One seed in torch's `manual_seed` range [−2^63, 2^64 − 1], kept exact as a bigint. */
export function parseSeed(flag: string, raw: string): bigint {
  const text = raw.trim();
  if (!/^[-+]?\d+$/.test(text)) {
    throw new UsageError(`${flag}: expected an integer seed, got ${quoted(raw)}`);
  }
  const seed = BigInt(text);
  if (seed < SEED_MIN || seed > SEED_MAX) {
    throw new UsageError(`${flag}: seed ${quoted(raw)} is outside torch's manual_seed range [-2^63, 2^64-1]`);
  }
  return seed;
}

/**
 * A seed list: comma-separated seeds and inclusive ranges, in the order given, kept as ranges (never expanded, so
 * `0-49999` costs what `0-3` costs). A seed given twice is refused.
 *
 * ```ts
 * [...parseSeedList('--seeds', '0-3,10').seeds()]; // [0n, 1n, 2n, 3n, 10n]
 * ```
 */
export function parseSeedList(flag: string, raw: string): SeedList {
  const spans: SeedSpan[] = [];
  for (const part of raw.split(',')) {
    const text = part.trim();
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(text);
    if (range) {
      const from = parseSeed(flag, range[1]);
      const to = parseSeed(flag, range[2]);
      if (to < from) {
        throw new UsageError(`${flag}: range ${quoted(text)} ends before it starts`);
      }
      spans.push({ from, to });
    } else if (/^[-+]?\d+$/.test(text)) {
      const seed = parseSeed(flag, text);
      spans.push({ from: seed, to: seed });
    } else {
      throw new UsageError(`${flag}: expected seeds and ranges like "0-15" or "0,3,7-9", got ${quoted(raw)}`);
    }
  }
  const list = new SeedList(spans);
  const overlap = list.findOverlap();
  if (overlap) throw new UsageError(`${flag}: seed ${overlap.seed} appears more than once in ${quoted(raw)}`);
  return list;
}

/** `--threads 2` → 2: a positive integer up to {@link MAX_THREADS}. */
export function parseThreads(flag: string, raw: string): number {
  const threads = parsePositiveInteger(flag, raw);
  if (threads > MAX_THREADS) throw new UsageError(`${flag}: expected at most ${MAX_THREADS}, got ${quoted(raw)}`);
  return threads;
}

/** `--native on|off|auto` → true | false | 'auto'. */
export function parseNative(flag: string, raw: string): boolean | 'auto' {
  const values: Record<string, boolean | 'auto'> = { on: true, off: false, auto: 'auto' };
  if (!Object.prototype.hasOwnProperty.call(values, raw)) throw new UsageError(`${flag}: expected on, off or auto, got ${quoted(raw)}`);
  return values[raw];
}

/** A backend name of {@link BACKEND_NAMES}, else a {@link UsageError} listing them. */
export function parseBackend(flag: string, raw: string): BackendName {
  if (!(BACKEND_NAMES as readonly string[]).includes(raw)) {
    throw new UsageError(`${flag}: expected one of ${BACKEND_NAMES.join(', ')}, got ${quoted(raw)}`);
  }
  return raw as BackendName;
}

/** The options of `tfjs-diffusers generate` as commander hands them over: strings, unchecked. */
export interface RawGenerateOptions {
  model?: string;
  seed?: string;
  seeds?: string;
  steps?: string;
  eta?: string;
  batch?: string;
  backend?: string;
  threads?: string;
  native?: string;
  out?: string;
  outDir?: string;
  json?: boolean;
  force?: boolean;
  /** Scale-out flags, checked by `resolveScaleOutOptions` (scale-out-options.ts). */
  shard?: string;
  shards?: string;
  seedsPerForward?: string;
  resume?: boolean;
}

/** Checked options of one `generate` invocation. */
export interface GenerateOptions {
  /** A folder, a Hub id, or undefined for the embedded model. */
  model?: string;
  /** One run per seed, in order. */
  seeds: SeedList;
  steps: number;
  eta: number;
  batch: number;
  /** undefined: the fastest backend installed. */
  backend?: BackendName;
  /** CPU threads (wasm's pool on plain wasm, the native kernels' pool with them); undefined: every core. */
  threads?: number;
  /** The native kernels on the wasm backend: required, off, or used when built. */
  native: boolean | 'auto';
  /** Where each run's PNG goes: one file, a folder (`seed<N>.png` inside), or nowhere. */
  output: { kind: 'file'; file: string } | { kind: 'dir'; dir: string } | { kind: 'none' };
  json: boolean;
  force: boolean;
  /** This process's part of `seeds` (undefined: all of them). See shard.ts. */
  shard?: Shard;
  /** Seeds that share one UNet forward, each with its own generator (default 1). */
  seedsPerForward?: number;
  /** Skip seeds whose PNG exists and matches its manifest record (default: on under a shard). */
  resume?: boolean;
}

export const GENERATE_DEFAULTS = { seed: '0', steps: '50', eta: '0', batch: '1' } as const;

/**
 * Checks the `generate` options together (ranges, exclusive flags) and converts them.
 * @throws {@link UsageError} naming the flag and the value.
 */
export function resolveGenerateOptions(raw: RawGenerateOptions): GenerateOptions {
  if (raw.seed !== undefined && raw.seeds !== undefined) {
    throw new UsageError(`--seed and --seeds: give one or the other, got --seed ${quoted(raw.seed)} and --seeds ${quoted(raw.seeds)}`);
  }
  if (raw.out !== undefined && raw.outDir !== undefined) {
    throw new UsageError(`--out and --out-dir: give one or the other, got --out ${quoted(raw.out)} and --out-dir ${quoted(raw.outDir)}`);
  }
  const seeds =
    raw.seeds !== undefined ? parseSeedList('--seeds', raw.seeds) : SeedList.single(parseSeed('--seed', raw.seed ?? GENERATE_DEFAULTS.seed));
  const steps = parsePositiveInteger('--steps', raw.steps ?? GENERATE_DEFAULTS.steps);
  const eta = parseNonNegativeNumber('--eta', raw.eta ?? GENERATE_DEFAULTS.eta);
  const batch = parsePositiveInteger('--batch', raw.batch ?? GENERATE_DEFAULTS.batch);
  if (batch > MAX_BATCH) throw new UsageError(`--batch: expected at most ${MAX_BATCH} images per run, got ${quoted(raw.batch ?? '')}`);
  const { backend, threads, native } = resolveBackendOptions(raw);
  if (raw.model !== undefined && raw.model.trim() === '') {
    throw new UsageError(`--model: expected a folder or a Hub id like google/ddpm-cifar10-32, got ${quoted(raw.model)}`);
  }

  let output: GenerateOptions['output'] = { kind: 'none' };
  if (raw.out !== undefined) {
    if (path.extname(raw.out).toLowerCase() !== '.png') {
      throw new UsageError(`--out: expected a file name ending in .png, got ${quoted(raw.out)}`);
    }
    if (seeds.count > 1n) {
      throw new UsageError(`--out: names one file but --seeds ${quoted(raw.seeds ?? '')} gives ${seeds.count} runs; use --out-dir`);
    }
    output = { kind: 'file', file: raw.out };
  } else if (raw.outDir !== undefined) {
    if (raw.outDir.trim() === '') throw new UsageError(`--out-dir: expected a folder, got ${quoted(raw.outDir)}`);
    output = { kind: 'dir', dir: raw.outDir };
  }
  return { model: raw.model, seeds, steps, eta, batch, backend, threads, native, output, json: Boolean(raw.json), force: Boolean(raw.force) };
}

/** `--backend`, `--threads` and `--native`, checked together (generate and demo share them). */
export function resolveBackendOptions(raw: Pick<RawGenerateOptions, 'backend' | 'threads' | 'native'>): Pick<GenerateOptions, 'backend' | 'threads' | 'native'> {
  const backend = raw.backend === undefined ? undefined : parseBackend('--backend', raw.backend);
  const threads = raw.threads === undefined ? undefined : parseThreads('--threads', raw.threads);
  const native = raw.native === undefined ? 'auto' : parseNative('--native', raw.native);
  if (native === true && backend !== undefined && backend !== 'wasm') {
    throw new UsageError(`--native on: the native kernels run on the wasm backend only, got --backend ${quoted(backend)}`);
  }
  return { backend, threads, native };
}

/** The file one run writes, or undefined when the options ask for no file. */
export function outputFileForSeed(options: Pick<GenerateOptions, 'output'>, seed: bigint): string | undefined {
  switch (options.output.kind) {
    case 'file':
      return options.output.file;
    case 'dir':
      return path.join(options.output.dir, seedFileName(seed));
    default:
      return undefined;
  }
}
