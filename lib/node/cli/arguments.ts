import * as path from 'path';
import { BACKEND_NAMES, BackendName } from '../backends/set-backend';
import { MAX_SEED, MIN_SEED } from '../../random/generator';
import { MEMORY_LIMITS } from '../../config/memory-limits';
import { seedFileName, SeedList, SeedSpan } from '../scale-out/seed-range';
import type { Shard } from '../scale-out/shard';
import { parsePositiveInteger, quoted, UsageError } from '../usage-error';
import { PIPELINE_NAMES, PipelineName } from '../../pipelines/pipeline-classes';
import { hasScheduler, schedulerClassNames } from '../../schedulers/registry';

// Shared with lib/node/scale-out/, which sits below the CLI.
export { parsePositiveInteger, UsageError } from '../usage-error';

/** `--threads`: at most this many (the wasm backend's pool caps at 8 too). */
const MAX_THREADS = 64;


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
  if (seed < MIN_SEED || seed > MAX_SEED) {
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
function parseThreads(flag: string, raw: string): number {
  const threads = parsePositiveInteger(flag, raw);
  if (threads > MAX_THREADS) throw new UsageError(`${flag}: expected at most ${MAX_THREADS}, got ${quoted(raw)}`);
  return threads;
}

/** `--native on|off|auto` → true | false | 'auto'. */
function parseNative(flag: string, raw: string): boolean | 'auto' {
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
  /** `--pipeline ddim|ddpm|pndm`. */
  pipeline?: string;
  /** `--scheduler <ClassName>`. */
  scheduler?: string;
  /** `--scheduler-config key=value`, repeatable: every occurrence, in order. */
  schedulerConfig?: string[];
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
  /** `--pipeline`; undefined: `ddpm` with `--scheduler`, else the model's `model_index.json` class. */
  pipeline?: PipelineName;
  /** `--scheduler`: a registered scheduler class name; undefined: the model's scheduler (converted by the pipeline). */
  scheduler?: string;
  /** `--scheduler-config`: diffusers (snake_case) config keys that replace the model's scheduler config values. */
  schedulerConfig?: Record<string, unknown>;
}

const GENERATE_DEFAULTS = { seed: '0', steps: '50', eta: '0', batch: '1' } as const;

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
  // DDIM's σ_t = η·√variance: above 1, 1 − ᾱ_{t−1} − σ_t² turns negative and its square root NaN (black images).
  if (eta > 1) throw new UsageError(`--eta: expected a number from 0 to 1 (0 deterministic DDIM, 1 DDPM-like), got ${quoted(raw.eta ?? '')}`);
  const batch = parsePositiveInteger('--batch', raw.batch ?? GENERATE_DEFAULTS.batch);
  if (batch > MEMORY_LIMITS.maxImagesPerRun) throw new UsageError(`--batch: expected at most ${MEMORY_LIMITS.maxImagesPerRun} images per run, got ${quoted(raw.batch ?? '')}`);
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
  const pipeline = raw.pipeline === undefined ? undefined : parsePipeline('--pipeline', raw.pipeline);
  const scheduler = raw.scheduler === undefined ? undefined : parseSchedulerName('--scheduler', raw.scheduler);
  const schedulerConfig = raw.schedulerConfig === undefined ? undefined : parseSchedulerConfigPairs('--scheduler-config', raw.schedulerConfig);
  const converts: Partial<Record<PipelineName, string>> = { ddim: 'DDIMScheduler', pndm: 'PNDMScheduler' };
  if (pipeline !== undefined && scheduler !== undefined && converts[pipeline] !== undefined && converts[pipeline] !== scheduler) {
    throw new UsageError(
      `--scheduler ${scheduler} with --pipeline ${pipeline}: the ${pipeline} pipeline converts every scheduler to ${converts[pipeline]} ` +
        `(as diffusers' ${pipeline.toUpperCase()}Pipeline does); use --pipeline ddpm to run ${scheduler}`,
    );
  }
  return {
    model: raw.model,
    seeds,
    steps,
    eta,
    batch,
    backend,
    threads,
    native,
    output,
    json: Boolean(raw.json),
    force: Boolean(raw.force),
    ...(pipeline !== undefined ? { pipeline } : {}),
    ...(scheduler !== undefined ? { scheduler } : {}),
    ...(schedulerConfig !== undefined ? { schedulerConfig } : {}),
  };
}

/** `--pipeline ddpm` → 'ddpm'; one of {@link PIPELINE_NAMES}. */
function parsePipeline(flag: string, raw: string): PipelineName {
  if (!(PIPELINE_NAMES as readonly string[]).includes(raw)) {
    throw new UsageError(`${flag}: expected one of ${PIPELINE_NAMES.join(', ')}, got ${quoted(raw)}`);
  }
  return raw as PipelineName;
}

/** `--scheduler DPMSolverMultistepScheduler`: a registered scheduler's diffusers class name. */
function parseSchedulerName(flag: string, raw: string): string {
  if (!hasScheduler(raw)) throw new UsageError(`${flag}: expected a scheduler class name (${schedulerClassNames().join(', ')}), got ${quoted(raw)}`);
  return raw;
}

/** The most `--scheduler-config` pairs (a scheduler has about 25 config keys). */
const MAX_SCHEDULER_CONFIG_PAIRS = 64;

/**
 * `--scheduler-config solver_order=3 --scheduler-config algorithm_type=dpmsolver++` → `{ solver_order: 3,
 * algorithm_type: 'dpmsolver++' }`: diffusers' snake_case keys; a value is JSON when it parses as JSON (`3`, `true`,
 * `null`, `[0.1, 0.2]`, `"3"`), else the string itself. A key given twice is refused.
 */
function parseSchedulerConfigPairs(flag: string, pairs: readonly string[]): Record<string, unknown> {
  if (pairs.length > MAX_SCHEDULER_CONFIG_PAIRS) throw new UsageError(`${flag}: at most ${MAX_SCHEDULER_CONFIG_PAIRS} pairs, got ${pairs.length}`);
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const match = /^([a-z][a-z0-9_]*)=(.*)$/s.exec(pair);
    if (!match) throw new UsageError(`${flag}: expected key=value with a snake_case key like solver_order=3, got ${quoted(pair)}`);
    const [, key, text] = match;
    if (Object.prototype.hasOwnProperty.call(out, key)) throw new UsageError(`${flag}: ${key} is given twice`);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON: the string itself (algorithm_type=dpmsolver++).
    }
    out[key] = value;
  }
  return out;
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
