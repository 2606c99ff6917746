// The child side of the readers' time property (spec/io/time-property.spec.ts): draws one input shape with
// fast-check (from the seed), builds the input at one scale, reads it REPS times and reports the fastest read (the
// minimum is what survives a loaded machine: a preempted read is only ever slower). The input is built before the
// clock starts; the process's peak RSS (reported by the harness) is the memory side of the property.
import fc from 'fast-check';
import { parseBoundedJson } from '../../../lib/io/bounded-json';
import { readSafetensors } from '../../../lib/io/safetensors';
import { readTorchCheckpoint } from '../../../lib/io/torch-pickle';
import { decodePng } from '../../../lib/node/png';
import * as inputs from './scaling-inputs';

/** Each reader with the input families that exercise it. */
export const SCALING_CASES = {
  'torch-strided-views': { family: inputs.torchStridedViews, read: (b: Uint8Array) => readTorchCheckpoint(b, 'scaling.bin') },
  'torch-long-names': { family: inputs.torchLongNames, read: (b: Uint8Array) => readTorchCheckpoint(b, 'scaling.bin') },
  'torch-long-storage-key': { family: inputs.torchLongStorageKey, read: (b: Uint8Array) => readTorchCheckpoint(b, 'scaling.bin') },
  'torch-contiguous': { family: inputs.torchContiguous, read: (b: Uint8Array) => readTorchCheckpoint(b, 'scaling.bin') },
  'safetensors-long-names': { family: inputs.safetensorsLongNames, read: (b: Uint8Array) => readSafetensors(b, 'scaling.safetensors') },
  'safetensors-many-tensors': { family: inputs.safetensorsManyTensors, read: (b: Uint8Array) => readSafetensors(b, 'scaling.safetensors') },
  'json-long-keys': { family: inputs.jsonLongKeys, read: (s: string) => parseBoundedJson(s, 'config.json') },
  'json-many-values': { family: inputs.jsonManyValues, read: (s: string) => parseBoundedJson(s, 'config.json') },
  'png-decode': { family: inputs.pngNoise, read: (b: Uint8Array) => decodePng(b) },
} as const;

export type ScalingCaseName = keyof typeof SCALING_CASES;

export interface ScalingMeasure {
  params: unknown;
  bytes: number;
  /** Fastest of the reads, ms. */
  ms: number;
  /** How the read ended: 'ok' or the error's class and the start of its message. */
  outcome: string;
}

const REPS = 5;

export function measureScaling(name: string, seed: number, scale: number): ScalingMeasure {
  if (!Object.prototype.hasOwnProperty.call(SCALING_CASES, name)) throw new Error(`unknown scaling case ${name}`);
  const { family, read } = SCALING_CASES[name as ScalingCaseName] as { family: inputs.ScalingFamily<unknown>; read: (input: never) => unknown };
  const [params] = fc.sample(family.params, { seed, numRuns: 1 });
  const { bytes, input } = family.make(params, scale);
  let best = Infinity;
  let outcome = 'ok';
  for (let rep = 0; rep < REPS; rep++) {
    const start = performance.now();
    try {
      read(input as never);
      outcome = 'ok';
    } catch (err) {
      outcome = `${(err as Error).name}: ${String((err as Error).message).slice(0, 160)}`;
    }
    best = Math.min(best, performance.now() - start);
  }
  return { params, bytes, ms: Math.round(best * 100) / 100, outcome };
}
