import * as tf from '@tensorflow/tfjs-core';
import { tableKernelPath } from '../backends/backend-table';
import type { Scheduler } from '../schedulers/scheduler';
import type { ProvenanceFields } from './image-provenance';
import { LIBRARY_VERSION } from './library-version';
import { pipelineContentHash } from './pipeline-content-hash';

/** The settings of one run, as {@link runProvenance} records them. */
export interface RunSettings {
  /** The torch.Generator("cpu") seed of the run (one generator for the whole batch, as `generate --seed`). */
  seed: bigint | number | string;
  steps: number;
  eta: number;
  /** Images from the one generator (`generate --batch`): more than one makes a grid. */
  batch: number;
  /** The model as `replay` will look for it: {@link EMBEDDED_MODEL_NAME}, a Hub id, or the URL it was loaded from. */
  model: string;
  /** The tfjs backend; default `tf.getBackend()`. */
  backend?: string;
  /** The model's content hash when already computed ({@link pipelineContentHash}, the slow part: every weight is read). */
  modelHash?: string;
}

/** What {@link runProvenance} reads from a pipeline: its class name, scheduler and UNet (a wrapped UNet: pass the model). */
interface RecordedPipeline {
  pipelineName: string;
  unet: object;
  scheduler: Pick<Scheduler, 'toDiffusersConfig'>;
}

/** What a page can say of its CPU: nothing decides bits there; the user agent, bounded, for the reader. */
function pageCpuDescription(): string {
  const agent = typeof navigator === 'undefined' ? '' : String(navigator.userAgent ?? '');
  return `unknown (${agent === '' ? 'no navigator' : `browser: ${agent.slice(0, 160)}`})`;
}

/**
 * The provenance record's fields for a run in a page (or any JavaScript without the native kernels): the same record
 * `tfjs-diffusers generate` writes (seed, steps, eta, batch, pipeline, scheduler config, model and content hash,
 * library version, backend and kernel path), with the kernel path from the backend table (`cpu`, `wasm`, `webgl`,
 * `webgpu`: {@link tableKernelPath}) and the CPU as unknown. Node's CLI fills its own (lib/node/cli/provenance-stamp.ts:
 * the native kernels' path and the CPU's ISA). Resolves after reading every weight once unless `modelHash` is given.
 *
 * ```js
 * const fields = await runProvenance(pipeline, { seed: 3, steps: 10, eta: 0, batch: 1, model: EMBEDDED_MODEL_NAME });
 * const png = provenancePng(images, fields);
 * ```
 */
export async function runProvenance(pipeline: RecordedPipeline, run: RunSettings): Promise<ProvenanceFields> {
  let seed: bigint | undefined;
  try {
    seed = BigInt(run.seed);
  } catch {
    seed = undefined;
  }
  if (seed === undefined || seed < 0n || seed >= 2n ** 64n) throw new RangeError(`runProvenance: seed must be an integer in [0, 2^64), got ${String(run.seed)}`);
  for (const [name, value] of [['steps', run.steps], ['batch', run.batch]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`runProvenance: ${name} must be a positive integer, got ${String(value)}`);
  }
  if (!Number.isFinite(run.eta) || run.eta < 0) throw new RangeError(`runProvenance: eta must be a finite number >= 0, got ${String(run.eta)}`);
  const backend = run.backend ?? tf.getBackend();
  return {
    seed: seed.toString(),
    steps: run.steps,
    eta: run.eta,
    batch: run.batch,
    pipeline: pipeline.pipelineName,
    scheduler: pipeline.scheduler.toDiffusersConfig(),
    model: run.model,
    modelHash: run.modelHash ?? (await pipelineContentHash(pipeline)),
    library: LIBRARY_VERSION,
    backend,
    kernelPath: tableKernelPath(backend),
    cpuIsa: pageCpuDescription(),
  };
}
