import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { defaultBackendName, setBackend } from '../backends/set-backend';
import { nativeKernelsStatus, setNativeThreads } from '../backends/native';
import { writeFileAtomic } from '../fs/atomic-write';
import { assertWritableFolder } from '../fs/writable-folder';
import { encodePng } from '../png';
import { ConfigError } from '../../config/config-error';
import { Generator } from '../../random/generator';
import { loadPipeline } from '../../pipelines/pipeline-classes';
import type { UNet2DPipeline } from '../../pipelines/unet2d-pipeline';
import { schedulerClass } from '../../schedulers/registry';
import type { Scheduler } from '../../schedulers/scheduler';
import { imageAbsSum } from '../../pipelines/image-abs-sum';
import { assertFiniteImages } from '../../pipelines/non-finite-image';
import { GenerateOptions, outputFileForSeed, UsageError } from './arguments';
import { kernelPath, runEnvironment } from './run-environment';
import { pipelineContentHash } from '../../pipelines/pipeline-content-hash';
import { effectiveSeedsPerForward } from './scale-out-options';
import { SeedList } from '../scale-out/seed-range';
import { shardSeeds } from '../scale-out/shard';
import { ShardOutput } from '../scale-out/shard-output';
import type { CliIO } from './cli-io';
import { EMBEDDED_MODEL_DIR } from '../embedded-model';
import { looksLikePath } from '../hub/model-location';
import { createDownloadDisplay, createProgressDisplay } from './progress';
import { provenanceStamper } from './provenance-stamp';
import { EMBEDDED_MODEL_NAME } from '../../pipelines/image-provenance';
import { checkSeedsPerForward } from './memory-checks';
import { safeLine } from './safe-text';
import { MEMORY_LIMITS } from '../../config/memory-limits';

/** One line of `--json` output: a run of one seed. */
export interface RunRecord {
  /** A number when it is a safe integer, else its decimal string (seeds reach 2^64 − 1). */
  seed: number | string;
  steps: number;
  eta: number;
  batch: number;
  backend: string;
  /** The kernels that ran (the manifest's `kernelPath`): `wasm+onednn-…`, `webgpu:<adapter> (…)`, … */
  kernelPath: string;
  model: string;
  /** The pipeline's diffusers class name: `DDIMPipeline`, `DDPMPipeline`, `PNDMPipeline`. */
  pipeline: string;
  /** The scheduler the pipeline ran, as diffusers' `scheduler_config.json` (with `_class_name`). */
  scheduler: Record<string, unknown>;
  /** `np.abs(image).sum()` as numpy computes it (float32). */
  absSum: number;
  /** Seconds the generation took (noise, steps, output; not the model load). */
  seconds: number;
  /** The PNG written, or null. */
  file: string | null;
}

function seedForJson(seed: bigint): number | string {
  return seed >= BigInt(Number.MIN_SAFE_INTEGER) && seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed.toString();
}

/**
 * The scheduler `generate` gives the pipeline: the model's scheduler config with `--scheduler-config`'s values over
 * it, read by `--scheduler`'s class (diffusers' `X.from_config(pipe.scheduler.config, **kwargs)`), or left as a config
 * for the pipeline to convert (DDIM, PNDM) or to read by its `_class_name` (DDPM).
 */
function schedulerFor(options: GenerateOptions, folderConfig: Record<string, unknown>): Scheduler | Record<string, unknown> {
  const json = { ...folderConfig, ...(options.schedulerConfig ?? {}) };
  if (options.scheduler === undefined) return json;
  return schedulerClass(options.scheduler).fromConfig(json, { source: '--scheduler-config and the model\'s scheduler config' });
}

/** Each `--scheduler-config` key must be one the scheduler that runs has (a typo would otherwise be a mere warning). */
function checkSchedulerConfigKeys(options: GenerateOptions, scheduler: Scheduler): void {
  if (options.schedulerConfig === undefined) return;
  const known = scheduler.toDiffusersConfig();
  for (const key of Object.keys(options.schedulerConfig)) {
    if (!Object.prototype.hasOwnProperty.call(known, key)) {
      const keys = Object.keys(known).filter((k) => !k.startsWith('_'));
      throw new UsageError(`--scheduler-config: ${scheduler.className} has no config key ${JSON.stringify(key)} (its keys: ${keys.join(', ')})`);
    }
  }
}

/**
 * The scheduler config as a manifest line holds it: the whole diffusers config, or, when it is over
 * `MEMORY_LIMITS.maxManifestSchedulerChars` (long `trained_betas`), its class and the sha256 of its JSON.
 */
function manifestSchedulerConfig(json: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(json);
  if (text.length <= MEMORY_LIMITS.maxManifestSchedulerChars) return json;
  return { _class_name: json._class_name, _sha256: createHash('sha256').update(text).digest('hex') };
}

/** The `abs-sum` line of one run: the figure of `print(np.abs(image).sum())`, 4 decimals. */
export function formatAbsSumLine(absSum: number): string {
  return `abs-sum ${absSum.toFixed(4)}`;
}

/**
 * Checked before any work: without `--force` or `--resume`, none of the files the runs would write may exist. The
 * seeds are visited lazily, one `existsSync` each, so a 50,000-seed list costs no memory.
 */
function refuseExistingOutputs(options: GenerateOptions, seeds: SeedList, cwd: string): void {
  if (options.force || options.resume || options.output.kind === 'none') return;
  for (const seed of seeds.seeds()) {
    const file = path.resolve(cwd, outputFileForSeed(options, seed)!);
    if (fs.existsSync(file)) {
      const flag = options.output.kind === 'file' ? '--out' : '--out-dir';
      // --resume needs --out-dir (it skips the seeds recorded in the folder's manifest): suggest it only there.
      throw new UsageError(`${flag}: ${path.relative(cwd, file) || file} already exists; pass --force to overwrite it${flag === '--out-dir' ? ' (or --resume to skip the seeds already done)' : ''}`);
    }
  }
}

/** [batch, height, width, channels] of the images one seed gives. */
function imageShape(pipeline: UNet2DPipeline, batch: number): [number, number, number, number] {
  const [, channels, height, width] = pipeline.noiseShapeNCHW(1);
  return [batch, height, width, channels];
}

/** The seeds of `seeds` in groups of `size`, lazily. */
function* groupsOf(seeds: Iterable<bigint>, size: number): IterableIterator<bigint[]> {
  let group: bigint[] = [];
  for (const seed of seeds) {
    group.push(seed);
    if (group.length === size) {
      yield group;
      group = [];
    }
  }
  if (group.length > 0) yield group;
}

/**
 * Checks, before any work, that each output folder exists or can be made and takes a file (a probe is created and
 * removed): a read-only or missing target fails at once as a usage error naming the flag and the folder, not after
 * the whole generation as a raw error about a temporary file.
 */
function assertWritableFolders(options: GenerateOptions, cwd: string): void {
  if (options.output.kind === 'none') return;
  const flag = options.output.kind === 'file' ? '--out' : '--out-dir';
  const folders = [options.output.kind === 'file' ? path.dirname(path.resolve(cwd, options.output.file)) : path.resolve(cwd, options.output.dir)];
  for (const folder of folders) {
    try {
      assertWritableFolder(folder);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new UsageError(`${flag}: cannot write into ${path.relative(cwd, folder) || folder} (${reason})`);
    }
  }
}

/**
 * Starts the backend the options ask for. `--threads N` sets the CPU threads of whatever runs the math: the wasm
 * backend's XNNPACK pool on plain wasm; the native kernels' pool when they run (the wasm pool then stays at one
 * thread, so the two pools never compete for the cores). Returns the backend's name.
 */
export async function startBackend(options: Pick<GenerateOptions, 'backend' | 'threads' | 'native'>): Promise<string> {
  const backend = options.backend ?? defaultBackendName();
  const withNative = backend === 'wasm' && options.native !== false && nativeKernelsStatus().available;
  const threads = options.threads === undefined ? undefined : withNative ? 1 : options.threads;
  const name = await setBackend(backend, { threads, native: options.native });
  if (withNative && options.threads !== undefined) setNativeThreads(options.threads);
  return name;
}

/**
 * `tfjs-diffusers generate`: one pipeline run per seed, each printing `abs-sum …` (or a JSON record) on stdout and
 * optionally writing a PNG (a grid when `--batch` > 1). With a shard (shard.ts) it runs only its block of the seeds;
 * with `--out-dir` it streams a manifest (manifest.ts) and, with `--resume`, skips the seeds already done;
 * `--seeds-per-forward K` runs K seeds in one UNet forward, each with its own generator (same bytes as alone).
 * Resolves to the runs' records, or to none with `keepRecords: false` (the CLI's: memory stays flat over any count).
 */
export async function runGenerate(
  options: GenerateOptions,
  io: CliIO,
  extra: { label?: string; keepRecords?: boolean } = {},
): Promise<RunRecord[]> {
  const modelArg = options.model ?? EMBEDDED_MODEL_DIR;
  if (options.model !== undefined && looksLikePath(modelArg) && !fs.existsSync(path.resolve(io.cwd, modelArg))) {
    throw new UsageError(`--model: ${JSON.stringify(modelArg)} does not exist (a folder, or a Hub id like google/ddpm-cifar10-32)`);
  }
  const seeds = options.shard ? shardSeeds(options.seeds, options.shard) : options.seeds;
  refuseExistingOutputs(options, seeds, io.cwd);
  assertWritableFolders(options, io.cwd);
  const backend = await startBackend(options);
  const model = fs.existsSync(path.resolve(io.cwd, modelArg)) || looksLikePath(modelArg) ? path.resolve(io.cwd, modelArg) : modelArg;
  const download = createDownloadDisplay(io.stderr);
  let pipeline: UNet2DPipeline;
  try {
    pipeline = await loadPipeline(model, {
      // --scheduler runs that scheduler: by default in the DDPM pipeline (the one that runs what it is given).
      pipeline: options.pipeline ?? (options.scheduler !== undefined ? 'ddpm' : undefined),
      scheduler: (folderConfig) => schedulerFor(options, folderConfig),
      env: io.env,
      onProgress: download.onProgress,
      onStatus: (message) => {
        download.stop();
        io.stderr.write(`${safeLine(message)}\n`);
      },
      onWarning: (message) => void io.stderr.write(`warning: ${safeLine(message)}\n`),
    });
  } catch (err) {
    // A bad --scheduler-config value is a usage error naming the flag (ConfigError names the key and the value).
    const overrides = options.schedulerConfig;
    if (err instanceof ConfigError && overrides !== undefined && err.key !== null && Object.keys(overrides).some((k) => err.key === k || err.key!.startsWith(`${k}[`))) {
      throw new UsageError(`--scheduler-config: ${err.message}`);
    }
    throw err;
  } finally {
    download.stop();
  }
  const records: RunRecord[] = [];
  let output: ShardOutput | undefined;
  try {
    checkSchedulerConfigKeys(options, pipeline.scheduler);
    const trainSteps = (pipeline.scheduler.config as { numTrainTimesteps?: unknown }).numTrainTimesteps;
    if (typeof trainSteps === 'number' && options.steps > trainSteps) {
      throw new UsageError(`--steps: expected at most the model's num_train_timesteps=${trainSteps}, got "${options.steps}"`);
    }
    checkSeedsPerForward(options.seedsPerForward ?? 1, pipeline);
    // UNet evaluations per run (Heun and KDPM2 evaluate twice per step): the progress bar's total.
    pipeline.scheduler.setTimesteps(options.steps);
    const evaluations = pipeline.scheduler.timesteps.length;
    const schedulerJson = pipeline.scheduler.toDiffusersConfig();
    const modelName = options.model ?? EMBEDDED_MODEL_NAME;
    const modelHash = await pipelineContentHash(pipeline);
    const stamp = provenanceStamper(pipeline, { model: modelName, modelHash, steps: options.steps, eta: options.eta, batch: options.batch, backend, env: io.env });
    if (options.output.kind === 'dir') {
      const shard = options.shard;
      output = ShardOutput.open(path.resolve(io.cwd, options.output.dir), {
        shard,
        seeds,
        resume: Boolean(options.resume),
        force: options.force,
        settings: {
          steps: options.steps,
          eta: options.eta,
          batch: options.batch,
          shape: imageShape(pipeline, options.batch),
          ...runEnvironment(backend),
          model: modelName,
          modelHash,
          pipeline: pipeline.pipelineName,
          scheduler: manifestSchedulerConfig(schedulerJson),
          shard: `${shard?.index ?? 0}/${shard?.count ?? 1}`,
        },
      });
    }
    if (options.shard) io.stderr.write(`shard ${options.shard.index}/${options.shard.count} (${options.shard.source}): seeds ${seeds} (${seeds.count} seed${seeds.count === 1n ? '' : 's'})\n`);
    const perForward = effectiveSeedsPerForward(options.seedsPerForward ?? 1, backend, (m) => void io.stderr.write(`warning: ${m}\n`));
    let skipped = 0;
    const pending = (function* () {
      for (const seed of seeds.seeds()) {
        if (output?.isDone(seed)) skipped++;
        else yield seed;
      }
    })();
    const progress = createProgressDisplay(io.stderr);
    for (const group of groupsOf(pending, perForward)) {
      const generator = group.length === 1 ? new Generator().manualSeed(group[0]) : group.map((seed) => new Generator().manualSeed(seed));
      const started = performance.now();
      progress.start(evaluations, `${extra.label ?? ''}seed${group.length > 1 ? 's' : ''} ${group.join(',')}`);
      let images;
      try {
        ({ images } = await pipeline.generate({
          batchSize: options.batch * group.length,
          generator,
          eta: options.eta,
          numInferenceSteps: options.steps,
          outputType: 'array',
          onStep: ({ step }) => progress.update(step),
          ...(group.length > 1 ? { maxBatchPerForward: group.length } : {}),
        }));
      } finally {
        progress.stop();
      }
      const seconds = Number(((performance.now() - started) / 1000 / group.length).toFixed(3));
      const [, height, width, channels] = images.shape;
      const perSeed = options.batch * height * width * channels;
      group.forEach((seed, i) => {
        const seedImages = { shape: [options.batch, height, width, channels] as typeof images.shape, data: images.data.subarray(i * perSeed, (i + 1) * perSeed) };
        assertFiniteImages(seedImages, `seed ${seed}`);
        const absSum = imageAbsSum(seedImages);
        const target = outputFileForSeed(options, seed);
        let file: string | undefined;
        if (output !== undefined) {
          const written = output.write(seed, stamp(seed, encodePng(seedImages)), { absSum, seconds }, seedForJson(seed));
          file = path.join(output.dir, written.file);
        } else if (target !== undefined) {
          file = path.resolve(io.cwd, target);
          writeFileAtomic(file, stamp(seed, encodePng(seedImages)), { force: options.force });
        }
        const record: RunRecord = {
          seed: seedForJson(seed),
          steps: options.steps,
          eta: options.eta,
          batch: options.batch,
          backend,
          kernelPath: kernelPath(backend),
          model: modelName,
          pipeline: pipeline.pipelineName,
          scheduler: schedulerJson,
          absSum,
          seconds,
          file: file === undefined ? null : path.relative(io.cwd, file) || file,
        };
        if (extra.keepRecords !== false) records.push(record);
        io.stdout(options.json ? `${JSON.stringify(record)}\n` : `${formatAbsSumLine(record.absSum)}\n`);
      });
    }
    if (skipped > 0) io.stderr.write(`resume: ${skipped} seed(s) already done (PNG matches its record in ${output!.manifestFile}), skipped\n`);
  } finally {
    output?.close();
    pipeline.dispose();
  }
  return records;
}
