import * as fs from 'fs';
import * as path from 'path';
import { defaultBackendName, setBackend } from '../backends/set-backend';
import { nativeKernelsStatus, setNativeThreads } from '../backends/native';
import { writeFileAtomic } from '../fs/atomic-write';
import { encodePng } from '../png';
import { Generator } from '../../random/generator';
import { DDIMPipeline } from '../../pipelines/ddim-pipeline';
import { imageAbsSum } from '../../pipelines/image-abs-sum';
import { GenerateOptions, outputFileForSeed, UsageError } from './arguments';
import type { CliIO } from './cli-io';
import { EMBEDDED_MODEL_DIR } from '../embedded-model';
import { looksLikePath } from '../model-location';
import { createDownloadDisplay, createProgressDisplay } from './progress';

/** One line of `--json` output: a run of one seed. */
export interface RunRecord {
  /** A number when it is a safe integer, else its decimal string (seeds reach 2^64 − 1). */
  seed: number | string;
  steps: number;
  eta: number;
  batch: number;
  backend: string;
  model: string;
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

/** The `abs-sum` line of one run: the figure of `print(np.abs(image).sum())`, 4 decimals. */
export function formatAbsSumLine(absSum: number): string {
  return `abs-sum ${absSum.toFixed(4)}`;
}

/** The files the runs would write, checked before any work: none may exist without `--force`, none twice. */
function plannedOutputFiles(options: GenerateOptions, cwd: string): (string | undefined)[] {
  const files = options.seeds.map((seed) => {
    const file = outputFileForSeed(options, seed);
    return file === undefined ? undefined : path.resolve(cwd, file);
  });
  const seen = new Set<string>();
  files.forEach((file, i) => {
    if (file === undefined) return;
    if (seen.has(file)) throw new UsageError(`--seeds: seed ${options.seeds[i]} appears more than once`);
    seen.add(file);
    if (!options.force && fs.existsSync(file)) {
      const flag = options.output.kind === 'file' ? '--out' : '--out-dir';
      throw new UsageError(`${flag}: ${path.relative(cwd, file) || file} already exists; pass --force to overwrite it`);
    }
  });
  assertWritableFolders(files, options, cwd);
  return files;
}

/**
 * Checks, before any work, that each output folder exists or can be made and takes a file (a probe is created and
 * removed): a read-only or missing target fails at once as a usage error naming the flag and the folder, not after
 * the whole generation as a raw error about a temporary file.
 */
function assertWritableFolders(files: (string | undefined)[], options: GenerateOptions, cwd: string): void {
  const flag = options.output.kind === 'file' ? '--out' : '--out-dir';
  const folders = new Set(files.filter((f): f is string => f !== undefined).map((f) => path.dirname(f)));
  for (const folder of folders) {
    const probe = path.join(folder, `.tfjs-diffusers-probe-${process.pid}`);
    try {
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(probe, '', { flag: 'wx' });
      fs.rmSync(probe);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new UsageError(`${flag}: cannot write into ${path.relative(cwd, folder) || folder} (${reason})`);
    }
  }
}

/**
 * Starts the backend the options ask for. `--threads N` sets the CPU threads of whatever runs the math: the wasm
 * backend's XNNPACK pool on plain wasm; oneDNN's pool when the native kernels run (the wasm pool then stays at one
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
 * optionally writing a PNG (a grid when `--batch` > 1).
 */
export async function runGenerate(options: GenerateOptions, io: CliIO, extra: { label?: string } = {}): Promise<RunRecord[]> {
  const files = plannedOutputFiles(options, io.cwd);
  const backend = await startBackend(options);
  const modelArg = options.model ?? EMBEDDED_MODEL_DIR;
  const model = fs.existsSync(path.resolve(io.cwd, modelArg)) || looksLikePath(modelArg) ? path.resolve(io.cwd, modelArg) : modelArg;
  const download = createDownloadDisplay(io.stderr);
  let pipeline: DDIMPipeline;
  try {
    pipeline = await DDIMPipeline.fromPretrained(model, {
      env: io.env,
      onProgress: download.onProgress,
      onStatus: (message) => {
        download.stop();
        io.stderr.write(`${message}\n`);
      },
      onWarning: (message) => void io.stderr.write(`warning: ${message}\n`),
    });
  } finally {
    download.stop();
  }
  const records: RunRecord[] = [];
  try {
    const trainSteps = pipeline.scheduler.config.numTrainTimesteps;
    if (options.steps > trainSteps) {
      throw new UsageError(`--steps: expected at most the model's num_train_timesteps=${trainSteps}, got "${options.steps}"`);
    }
    const progress = createProgressDisplay(io.stderr);
    for (let i = 0; i < options.seeds.length; i++) {
      const seed = options.seeds[i];
      const generator = new Generator().manualSeed(seed);
      const started = performance.now();
      progress.start(options.steps, `${extra.label ?? ''}seed ${seed}`);
      let images;
      try {
        ({ images } = await pipeline.generate({
          batchSize: options.batch,
          generator,
          eta: options.eta,
          numInferenceSteps: options.steps,
          outputType: 'array',
          onStep: ({ step }) => progress.update(step),
        }));
      } finally {
        progress.stop();
      }
      const file = files[i];
      if (file !== undefined) writeFileAtomic(file, encodePng(images), { force: options.force });
      const record: RunRecord = {
        seed: seedForJson(seed),
        steps: options.steps,
        eta: options.eta,
        batch: options.batch,
        backend,
        model: options.model ?? 'embedded:tiny-random',
        absSum: imageAbsSum(images),
        seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
        file: file === undefined ? null : path.relative(io.cwd, file) || file,
      };
      records.push(record);
      io.stdout(options.json ? `${JSON.stringify(record)}\n` : `${formatAbsSumLine(record.absSum)}\n`);
    }
  } finally {
    pipeline.dispose();
  }
  return records;
}
