/**
 * Typed access to spec/fixtures/schedulers_k.json (diffusers 0.30.3 on PyTorch 1.13.1 CPU, NumPy 1.24.2, SciPy
 * 1.10.1; made by scripts/fixtures/make_scheduler_k_fixture.py) and the loop that replays one of its trajectories
 * through a port: the loop of lib/pipelines (initial noise × initNoiseSigma, scaleModelInput, step with the
 * generator only where the scheduler takes one), with the fixture's deterministic model outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import type { Scheduler } from '../../lib/schedulers/scheduler';
import { FixtureArray, loadFixture } from '../helpers/fixtures';

export interface KTableRow {
  scheduler: string;
  config: Record<string, unknown>;
  num_inference_steps: number;
  error?: string;
  timesteps?: FixtureArray;
  sigmas?: FixtureArray;
  init_noise_sigma?: number;
}

export interface KStep {
  timestep: number;
  model_input: FixtureArray;
  prev_sample: FixtureArray;
  pred_original_sample?: FixtureArray;
}

export interface KTrajectory {
  id: string;
  scheduler: string;
  config: Record<string, unknown>;
  num_inference_steps: number;
  step_kwargs: Record<string, number>;
  gen_seed: number | null;
  step_takes_generator: boolean;
  timesteps: FixtureArray;
  sigmas: FixtureArray | null;
  init_noise_sigma: number;
  steps: KStep[];
}

export interface KLmsCoefficients {
  config: Record<string, unknown>;
  num_inference_steps: number;
  order: number;
  t: number;
  coefficients: number[];
}

export interface KFixture {
  shape: number[];
  model_output_seed_base: number;
  initial_sample_seed: number;
  tables: KTableRow[];
  trajectories: KTrajectory[];
  lms_coefficients: KLmsCoefficients[];
}

export function kFixture(): KFixture {
  return loadFixture<KFixture>('schedulers_k.json');
}

export function tablesOf(scheduler: string): KTableRow[] {
  return kFixture().tables.filter((r) => r.scheduler === scheduler);
}

export function trajectoriesOf(scheduler: string): KTrajectory[] {
  return kFixture().trajectories.filter((c) => c.scheduler === scheduler);
}

/** How far a replayed trajectory landed from diffusers' (max |port − diffusers| per output, over every step). */
export interface TrajectoryErrors {
  modelInput: number;
  prevSample: number;
  predOriginalSample: number;
  /** Elements (over all steps and outputs) that are not bit-identical. */
  mismatches: number;
  /** The timesteps differ from the fixture's (then nothing else is compared). */
  timestepsDiffer: boolean;
}

/** diffusers' snake_case `step` keyword arguments (`s_churn`) as the port's camelCase options (`sChurn`). */
function camelCaseKeys(kwargs: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(kwargs).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, ch: string) => ch.toUpperCase()), v]));
}

function toNhwc(x: tf.Tensor): tf.Tensor {
  return tf.transpose(x, [0, 2, 3, 1]);
}

/**
 * Replays trajectory `c` through `scheduler` (already constructed with `c.config`; `setTimesteps` is called here).
 * With `layout: 'NHWC'` the tensors are NHWC and the generator's noise is drawn in NCHW order (the results are
 * transposed back before the comparison). Each step continues from the port's own previous output.
 */
export function replayTrajectory(scheduler: Scheduler, c: KTrajectory, layout: 'NCHW' | 'NHWC' = 'NCHW'): TrajectoryErrors {
  const f = kFixture();
  const errors: TrajectoryErrors = { modelInput: 0, prevSample: 0, predOriginalSample: 0, mismatches: 0, timestepsDiffer: false };
  scheduler.setTimesteps(c.num_inference_steps);
  const ts = Array.from(scheduler.timesteps);
  if (ts.length !== c.timesteps.data.length || ts.some((t, i) => t !== c.timesteps.data[i])) {
    errors.timestepsDiffer = true;
    return errors;
  }
  const generator = c.gen_seed === null ? undefined : new Generator().manualSeed(c.gen_seed);
  const nchw = (x: tf.Tensor): tf.Tensor => (layout === 'NHWC' ? tf.transpose(x, [0, 3, 1, 2]) : x);
  const compare = (got: tf.Tensor, want: FixtureArray, key: 'modelInput' | 'prevSample' | 'predOriginalSample'): void => {
    const values = tf.tidy(() => nchw(got)).dataSync();
    for (let i = 0; i < values.length; i++) {
      const d = Math.abs(values[i] - want.data[i]);
      if (!(d === 0) && !(Number.isNaN(values[i]) && Number.isNaN(want.data[i]))) {
        errors.mismatches++;
        errors[key] = Math.max(errors[key], Number.isNaN(d) ? Infinity : d);
      }
    }
  };
  let sample = tf.tidy(() => {
    const x = tf.mul(randnTensor(f.shape, { generator: new Generator().manualSeed(f.initial_sample_seed) }), Math.fround(scheduler.initNoiseSigma));
    return layout === 'NHWC' ? toNhwc(x) : x;
  });
  c.steps.forEach((want, k) => {
    const t = ts[k];
    const input = scheduler.scaleModelInput(sample, t);
    compare(input, want.model_input, 'modelInput');
    if (input !== sample) input.dispose();
    const modelOutput = tf.tidy(() => {
      const x = randnTensor(f.shape, { generator: new Generator().manualSeed(f.model_output_seed_base + k) });
      return layout === 'NHWC' ? toNhwc(x) : x;
    });
    const options = { ...camelCaseKeys(c.step_kwargs), layout, ...(scheduler.stepTakesGenerator ? { generator } : {}) };
    const out = scheduler.step(modelOutput, t, sample, options);
    compare(out.prevSample, want.prev_sample, 'prevSample');
    if (want.pred_original_sample) {
      if (!out.predOriginalSample) throw new Error(`${c.id}: step ${k} returned no predOriginalSample`);
      compare(out.predOriginalSample, want.pred_original_sample, 'predOriginalSample');
    }
    out.predOriginalSample?.dispose();
    modelOutput.dispose();
    sample.dispose();
    sample = out.prevSample;
  });
  sample.dispose();
  return errors;
}

/** The table row's values equal the port's exactly (timesteps as stored: float32, float64 or int64). */
export function sameValues(got: ArrayLike<number>, want: FixtureArray | undefined): boolean {
  if (!want) return false;
  return got.length === want.data.length && Array.from(got).every((v, i) => v === want.data[i]);
}
