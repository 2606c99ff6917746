/**
 * Typed access to spec/fixtures/schedulers_dpm.json (diffusers 0.30.3's DPM-Solver family on PyTorch 1.13.1 CPU,
 * made by scripts/fixtures/make_scheduler_dpm_fixture.py) and the trajectory runner its specs share.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import type { Scheduler } from '../../lib/schedulers/scheduler';
import { FixtureArray, loadFixture } from '../helpers/fixtures';

export interface DpmTableCase {
  scheduler: string;
  config: Record<string, unknown>;
  num_inference_steps: number;
  timesteps: number[];
  sigmas: FixtureArray;
}

export interface DpmTrajectoryCase {
  scheduler: string;
  config: Record<string, unknown>;
  num_inference_steps: number;
  shape: number[];
  model_shape: number[];
  sample_seed: number;
  model_seed: number;
  step_seed: number | null;
  timesteps: number[];
  sigmas: FixtureArray;
  prev_samples: FixtureArray[];
}

export interface DpmFixture {
  base_config: Record<string, unknown>;
  tables: DpmTableCase[];
  trajectories: DpmTrajectoryCase[];
}

export function dpmFixture(): DpmFixture {
  return loadFixture<DpmFixture>('schedulers_dpm.json');
}

/** A case's name: its config overrides and step count. */
export function caseName(c: { config: Record<string, unknown>; num_inference_steps: number }): string {
  const cfg = Object.entries(c.config).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  return `${cfg || 'defaults'} n=${c.num_inference_steps}`;
}

/** The fixture's cases of one scheduler class. */
export function tablesOf(className: string): DpmTableCase[] {
  return dpmFixture().tables.filter((c) => c.scheduler === className);
}

export function trajectoriesOf(className: string): DpmTrajectoryCase[] {
  return dpmFixture().trajectories.filter((c) => c.scheduler === className);
}

/** The diffusers JSON of a case: the base config (google/ddpm-cifar10-32's) with its overrides. */
export function caseConfig(c: { config: Record<string, unknown> }): Record<string, unknown> {
  return { ...dpmFixture().base_config, ...c.config };
}

/** How far a step's output is from diffusers': max |Δ| and max |Δ| / max |expected|, and whether bit-exact. */
export interface StepError {
  maxAbs: number;
  relative: number;
  exact: boolean;
  /** Whether diffusers' output is finite (the fixture holds null for NaN, "Infinity" strings for ±∞). */
  referenceFinite: boolean;
  /** This step's input and output (NCHW) and its model output, for the checks of non-finite reference steps. */
  input: Float32Array;
  output: Float32Array;
  modelOutput: Float32Array;
}

/** NCHW [B, C, H, W] data → NHWC. */
function toNhwc(t: tf.Tensor): tf.Tensor {
  return tf.transpose(t, [0, 2, 3, 1]);
}

/** A tensor's values in NCHW order. */
function nchwData(t: tf.Tensor, layout: 'NCHW' | 'NHWC'): Float32Array {
  if (layout === 'NCHW') return t.dataSync() as Float32Array;
  const nchw = tf.transpose(t, [0, 3, 1, 2]);
  const data = nchw.dataSync() as Float32Array;
  nchw.dispose();
  return data;
}

/**
 * Runs the fixture's sampling loop with `scheduler` (already `setTimesteps`'d): the same initial sample, model
 * outputs and step generator (the library's Generator is torch's bit for bit), in NCHW or NHWC layout. Returns
 * each step's error against diffusers' output.
 */
export async function runTrajectory(
  scheduler: Scheduler,
  c: DpmTrajectoryCase,
  layout: 'NCHW' | 'NHWC' = 'NCHW',
  afterStep?: (k: number) => void,
): Promise<StepError[]> {
  const gModel = new Generator().manualSeed(c.model_seed);
  const gStep = c.step_seed === null ? undefined : new Generator().manualSeed(c.step_seed);
  let x = randnTensor(c.shape, { generator: new Generator().manualSeed(c.sample_seed) });
  if (layout === 'NHWC') x = toNhwc(x);
  const errors: StepError[] = [];
  const timesteps = Array.from(scheduler.timesteps);
  for (let k = 0; k < timesteps.length; k++) {
    let mo = randnTensor(c.model_shape, { generator: gModel });
    if (layout === 'NHWC') {
      const nhwc = toNhwc(mo);
      mo.dispose();
      mo = nhwc;
    }
    const { prevSample, predOriginalSample } = scheduler.step(mo, timesteps[k], x, { generator: gStep, layout });
    predOriginalSample?.dispose();
    afterStep?.(k);
    const nchw = layout === 'NHWC' ? tf.transpose(prevSample, [0, 3, 1, 2]) : prevSample;
    const got = nchw.dataSync() as Float32Array;
    if (nchw !== prevSample) nchw.dispose();
    const input = nchwData(x, layout);
    const modelOutput = nchwData(mo, layout);
    const want = c.prev_samples[k].data;
    const referenceFinite = want.every((v) => typeof v === 'number');
    let maxAbs = 0;
    let scale = 0;
    let exact = got.length === want.length;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      if (!(d === 0 || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) exact = false;
      maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
      scale = Math.max(scale, Math.abs(want[i]));
    }
    errors.push({ maxAbs, relative: scale > 0 ? maxAbs / scale : maxAbs, exact, referenceFinite, input, output: got, modelOutput });
    tf.dispose([x, mo]);
    x = prevSample;
  }
  x.dispose();
  return errors;
}
