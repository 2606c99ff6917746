/** Typed access to spec/fixtures/scheduler.json (diffusers 0.30.3 on PyTorch 1.13.1 CPU). */
import * as tf from '@tensorflow/tfjs-core';
import { FixtureArray, loadFixture, maxAbs, maxAbsDiff } from '../helpers/fixtures';

export interface StepCaseBase {
  id: string;
  scheduler: 'DDIMScheduler' | 'DDPMScheduler';
  config_overrides: Record<string, unknown>;
  num_inference_steps: number;
  timestep: number;
  generator_seed: number | null;
  model_output: FixtureArray;
  sample: FixtureArray;
  prev_sample: FixtureArray;
  pred_original_sample: FixtureArray;
  variance_noise?: FixtureArray;
}

export interface DDIMCase extends StepCaseBase {
  scheduler: 'DDIMScheduler';
  timesteps: FixtureArray;
  eta: number;
  use_clipped_model_output: boolean;
  intermediates: {
    prev_timestep: number;
    alpha_prod_t: number;
    alpha_prod_t_prev: number;
    variance: number;
    std_dev_t: number;
    threshold_s_per_batch: number[] | null;
  };
}

export interface DDPMCase extends StepCaseBase {
  scheduler: 'DDPMScheduler';
  intermediates: { prev_timestep: number; variance: number | null };
}

export interface TimestepsRow {
  scheduler: string;
  timestep_spacing: 'leading' | 'trailing' | 'linspace';
  steps_offset: number;
  num_inference_steps: number;
  timesteps: number[];
}

export interface SchedulerFixture {
  scheduler_config: Record<string, unknown>;
  ddim_config_resolved: Record<string, unknown>;
  ddpm_config_resolved: Record<string, unknown>;
  betas: FixtureArray;
  alphas_cumprod: FixtureArray;
  final_alpha_cumprod: number;
  final_alpha_cumprod_set_alpha_to_one_false: number;
  timesteps_table: TimestepsRow[];
  timesteps_table_ddpm: TimestepsRow[];
  cases: Array<DDIMCase | DDPMCase>;
}

export function schedulerFixture(): SchedulerFixture {
  return loadFixture<SchedulerFixture>('scheduler.json');
}

export function ddimCases(): DDIMCase[] {
  return schedulerFixture().cases.filter((c): c is DDIMCase => c.scheduler === 'DDIMScheduler');
}

export function ddpmCases(): DDPMCase[] {
  return schedulerFixture().cases.filter((c): c is DDPMCase => c.scheduler === 'DDPMScheduler');
}

export function toTensor(a: FixtureArray): tf.Tensor {
  return tf.tensor(a.data, a.shape, 'float32');
}

/**
 * The parity measure of the issue: max |actual − expected| divided by the largest |expected| of that tensor.
 */
export function relativeError(actual: ArrayLike<number>, expected: FixtureArray): number {
  return maxAbsDiff(actual, expected.data) / maxAbs(expected.data);
}

/**
 * Tolerance of a scheduler step against torch: the step is a few float32 operations per element, each rounded
 * once (≈6e-8 relative); 2e-6 relative to the tensor's largest magnitude is the bound, which leaves room
 * for an operation order that differs from torch's (e.g. a divide done as a multiply by the reciprocal).
 */
export const STEP_RELATIVE_TOLERANCE = 2e-6;
