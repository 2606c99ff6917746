/**
 * PNDMScheduler: pseudo numerical methods for diffusion models (Liu et al. 2022), step for step equal to diffusers
 * 0.30.3's `scheduling_pndm.py`: Runge–Kutta (PRK) warm-up steps, then linear multistep (PLMS) steps over the
 * history of model outputs (`ets`). google/ddpm-cifar10-32's model card names it; `PNDMPipeline` runs it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fieldsOf } from '../config/config-schema';
import { f32, sqrtF32 } from '../math/float32';
import { commonKFields, kBetas, KBetaSchedule } from './k-scheduler-common';
import { addNoiseWith, Timesteps } from './noising';
import { alphasFromBetas, cumprodFloat32, spacedTimesteps, TimestepSpacing } from './schedule';
import type { Scheduler, SchedulerFromConfigOptions, SchedulerStepOptions, SchedulerStepOutput } from './scheduler';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import { defineSchedulerConfig } from './scheduler-config';
import { assertSameShape } from './step-inputs';

/** The config of {@link PNDMScheduler}: diffusers' `PNDMScheduler.__init__` arguments in camelCase. */
export interface PNDMSchedulerConfig {
  /** `num_train_timesteps`. */
  numTrainTimesteps: number;
  /** `beta_start`. */
  betaStart: number;
  /** `beta_end`. */
  betaEnd: number;
  /** `beta_schedule`: 'linear', 'scaled_linear' or 'squaredcos_cap_v2'. */
  betaSchedule: KBetaSchedule;
  /** `trained_betas`: explicit betas that replace the schedule. */
  trainedBetas: readonly number[] | null;
  /** `skip_prk_steps`: PLMS only, no Runge–Kutta warm-up (as Stable Diffusion uses it). */
  skipPrkSteps: boolean;
  /** `set_alpha_to_one`: ᾱ before the first timestep is 1 (else ᾱ₀). */
  setAlphaToOne: boolean;
  /** `prediction_type`: 'epsilon' or 'v_prediction' (diffusers' PNDM has no 'sample'). */
  predictionType: 'epsilon' | 'v_prediction';
  /** `timestep_spacing`. */
  timestepSpacing: TimestepSpacing;
  /** `steps_offset`: added to the 'leading' timesteps. */
  stepsOffset: number;
}

const common = commonKFields<PNDMSchedulerConfig>({
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedules: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  predictionTypes: ['epsilon', 'v_prediction'],
  timestepSpacing: 'leading',
});
const field = fieldsOf<PNDMSchedulerConfig>();
const boolField = common.setAlphaToOne.type as Parameters<typeof field<'skipPrkSteps'>>[2];

/** The fields of {@link PNDMSchedulerConfig}, with diffusers 0.30.3's defaults (declared as diffusers' `@register_to_config`). */
const PNDM_SCHEDULER_CONFIG = defineSchedulerConfig<PNDMSchedulerConfig>('PNDMScheduler', {
  fields: [
    common.numTrainTimesteps,
    common.betaStart,
    common.betaEnd,
    common.betaSchedule,
    common.trainedBetas,
    field('skipPrkSteps', 'skip_prk_steps', boolField, false),
    common.setAlphaToOne,
    common.predictionType,
    common.timestepSpacing,
    common.stepsOffset,
  ],
});

/** The number of PRK warm-up evaluations (diffusers' `pndm_order` 4 → 12 PRK timesteps). */
const PNDM_ORDER = 4;

/**
 * The PNDM scheduler of diffusers 0.30.3 (`timesteps` are integers; `initNoiseSigma` 1; no generator).
 *
 * ```ts
 * const scheduler = PNDMScheduler.fromConfig(ddpmSchedulerConfigJson);
 * scheduler.setTimesteps(50);  // 12 PRK timesteps, then PLMS: 59 model evaluations
 * for (const t of scheduler.timesteps) {
 *   const { prevSample } = scheduler.step(unet.predict(x, t), t, x);
 *   x.dispose();
 *   x = prevSample;
 * }
 * ```
 */
export class PNDMScheduler implements Scheduler {
  static readonly className = 'PNDMScheduler';
  static readonly compatibles = KARRAS_DIFFUSION_SCHEDULERS;
  /** diffusers' `order`. */
  static readonly order = 1;

  readonly className = PNDMScheduler.className;
  readonly order = PNDMScheduler.order;
  readonly stepTakesGenerator = false;
  readonly initNoiseSigma = 1.0;
  readonly config: Readonly<PNDMSchedulerConfig>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;
  /** ᾱ before the first timestep: 1 with `setAlphaToOne`, else ᾱ₀. */
  readonly finalAlphaCumprod: number;

  private numInferenceStepsValue: number | null = null;
  private timestepsValue = new Int32Array(0);
  private prkTimesteps = new Int32Array(0);
  private plmsTimesteps = new Int32Array(0);
  /** The PLMS history of model outputs (diffusers' `ets`), at most 4, owned by the scheduler. */
  private ets: tf.Tensor[] = [];
  private counter = 0;
  /** diffusers' `cur_model_output` (null = the integer 0 it starts as). */
  private curModelOutput: tf.Tensor | null = null;
  private curSample: tf.Tensor | null = null;

  /** Builds the tables from camelCase options (diffusers' defaults for the rest); an unknown key throws. */
  constructor(config: Partial<PNDMSchedulerConfig> = {}) {
    this.config = PNDM_SCHEDULER_CONFIG.resolve(config);
    this.betas = kBetas(PNDMScheduler.className, this.config);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
  }

  /**
   * A PNDM scheduler from a diffusers `scheduler_config.json` object or another scheduler's `config`: the fields
   * PNDM knows are kept, the others ignored with one warning.
   *
   * ```ts
   * const pndm = PNDMScheduler.fromConfig(ddimScheduler.config);
   * ```
   */
  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): PNDMScheduler {
    return new PNDMScheduler({ ...PNDM_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return PNDM_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** The timesteps to visit: the 12 PRK timesteps (unless `skipPrkSteps`), then the PLMS ones. Empty before `setTimesteps`. */
  get timesteps(): Int32Array {
    return this.timestepsValue;
  }

  /**
   * diffusers' `set_timesteps`: the spaced timesteps, then PRK's (each of the last four spaced timesteps and its
   * midpoint, repeated) and PLMS's; resets the multistep history. PRK needs `numInferenceSteps >= 4`.
   */
  setTimesteps(numInferenceSteps: number): void {
    const owner = 'PNDMScheduler.setTimesteps';
    const T = this.config.numTrainTimesteps;
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new Error(`${owner}: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] (numTrainTimesteps=${T})`);
    }
    if (!this.config.skipPrkSteps && numInferenceSteps < PNDM_ORDER) {
      throw new Error(
        `${owner}: numInferenceSteps=${numInferenceSteps} is too few for the Runge-Kutta warm-up, which needs ${PNDM_ORDER} at least ` +
          `(or skipPrkSteps: true); diffusers fails here too`,
      );
    }
    // The spaced timesteps in ascending order (diffusers' `_timesteps`).
    const spaced = spacedTimesteps(T, numInferenceSteps, this.config.timestepSpacing, this.config.stepsOffset).reverse();
    const m = spaced.length;
    if (this.config.skipPrkSteps) {
      // concatenate([_timesteps[:-1], _timesteps[-2:-1], _timesteps[-1:]])[::-1]
      const plms = [...spaced.slice(0, Math.max(m - 1, 0)), ...spaced.slice(Math.max(m - 2, 0), Math.max(m - 1, 0)), ...spaced.slice(m - 1)];
      this.prkTimesteps = new Int32Array(0);
      this.plmsTimesteps = Int32Array.from(plms.reverse());
    } else {
      const half = Math.floor(Math.floor(T / numInferenceSteps) / 2);
      const last = Array.from(spaced.slice(m - PNDM_ORDER));
      const prk = last.flatMap((t) => [t, t + half]); // repeat(2) + tile([0, half])
      const repeated = prk.slice(0, -1).flatMap((t) => [t, t]).slice(1, -1);
      this.prkTimesteps = Int32Array.from(repeated.reverse());
      this.plmsTimesteps = Int32Array.from(spaced.slice(0, Math.max(m - 3, 0)).reverse());
    }
    const all = new Int32Array(this.prkTimesteps.length + this.plmsTimesteps.length);
    all.set(this.prkTimesteps);
    all.set(this.plmsTimesteps, this.prkTimesteps.length);
    this.timestepsValue = all;
    this.numInferenceStepsValue = numInferenceSteps;
    this.resetHistory();
  }

  /** Returns `sample` itself: PNDM does not scale the model input. */
  scaleModelInput(sample: tf.Tensor, _timestep?: number): tf.Tensor {
    return sample;
  }

  /**
   * One step (diffusers' `step`): a PRK step while the warm-up lasts (unless `skipPrkSteps`), else a PLMS step. The
   * scheduler keeps the model outputs it needs (the caller may dispose its inputs); `options` are ignored.
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, _options: SchedulerStepOptions = {}): SchedulerStepOutput {
    const owner = 'PNDMScheduler.step';
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    if (typeof timestep !== 'number' || !Number.isInteger(timestep)) {
      throw new Error(`${owner}: timestep=${String(timestep)} must be an integer timestep, one of scheduler.timesteps`);
    }
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    if (this.counter < this.prkTimesteps.length && !this.config.skipPrkSteps) return this.stepPrk(modelOutput, timestep, sample);
    return this.stepPlms(modelOutput, timestep, sample);
  }

  /** Frees the multistep history (also done by `setTimesteps`). */
  dispose(): void {
    this.resetHistory();
  }

  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    return addNoiseWith('PNDMScheduler.addNoise', this.alphasCumprod, originalSamples, noise, timesteps);
  }

  private stepPrk(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor): SchedulerStepOutput {
    const n = this.numInferenceStepsValue as number;
    const diffToPrev = this.counter % 2 ? 0 : Math.floor(Math.floor(this.config.numTrainTimesteps / n) / 2);
    const prevTimestep = timestep - diffToPrev;
    const t = this.prkTimesteps[Math.floor(this.counter / 4) * 4];
    const phase = this.counter % 4;
    let output = modelOutput;
    let ownedOutput: tf.Tensor | null = null;
    if (phase === 0) {
      this.replaceCurModelOutput(tf.tidy(() => tf.add(tf.mul(f32(1 / 6), modelOutput), 0)));
      this.ets.push(tf.keep(tf.clone(modelOutput)));
      this.curSample?.dispose();
      this.curSample = tf.keep(tf.clone(sample));
    } else if (phase === 1 || phase === 2) {
      const cur = this.curModelOutput as tf.Tensor;
      this.replaceCurModelOutput(tf.tidy(() => tf.add(cur, tf.mul(f32(1 / 3), modelOutput))));
    } else {
      const cur = this.curModelOutput as tf.Tensor;
      ownedOutput = tf.tidy(() => tf.add(cur, tf.mul(f32(1 / 6), modelOutput)));
      output = ownedOutput;
      this.replaceCurModelOutput(null);
    }
    const curSample = this.curSample ?? sample;
    const prevSample = this.prevSample(curSample, t, prevTimestep, output);
    ownedOutput?.dispose();
    this.counter += 1;
    return { prevSample };
  }

  private stepPlms(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor): SchedulerStepOutput {
    const owner = 'PNDMScheduler.step';
    if (!this.config.skipPrkSteps && this.ets.length < 3) {
      throw new Error(`${owner}: PLMS steps can only run after the 12 PRK steps of the warm-up (got ${this.ets.length} model outputs in the history)`);
    }
    const stride = Math.floor(this.config.numTrainTimesteps / (this.numInferenceStepsValue as number));
    let prevTimestep = timestep - stride;
    let t = timestep;
    if (this.counter !== 1) {
      while (this.ets.length > 3) (this.ets.shift() as tf.Tensor).dispose();
      this.ets.push(tf.keep(tf.clone(modelOutput)));
    } else {
      prevTimestep = timestep;
      t = timestep + stride;
    }
    const e = this.ets;
    const k = e.length;
    let x = sample;
    let ownedSample: tf.Tensor | null = null;
    let output: tf.Tensor;
    if (k === 1 && this.counter === 0) {
      output = tf.clone(modelOutput);
      this.curSample?.dispose();
      this.curSample = tf.keep(tf.clone(sample));
    } else if (k === 1 && this.counter === 1) {
      output = tf.tidy(() => tf.div(tf.add(modelOutput, e[k - 1]), 2));
      ownedSample = this.curSample;
      x = ownedSample ?? sample;
      this.curSample = null;
    } else if (k === 2) {
      output = tf.tidy(() => tf.div(tf.sub(tf.mul(3, e[1]), e[0]), 2));
    } else if (k === 3) {
      output = tf.tidy(() => tf.div(tf.add(tf.sub(tf.mul(23, e[2]), tf.mul(16, e[1])), tf.mul(5, e[0])), 12));
    } else {
      output = tf.tidy(() =>
        tf.mul(f32(1 / 24), tf.sub(tf.add(tf.sub(tf.mul(55, e[3]), tf.mul(59, e[2])), tf.mul(37, e[1])), tf.mul(9, e[0]))),
      );
    }
    const prevSample = this.prevSample(x, t, prevTimestep, output);
    output.dispose();
    ownedSample?.dispose();
    this.counter += 1;
    return { prevSample };
  }

  /** diffusers' `_get_prev_sample`: formula (9) of the PNDM paper, float32 scalars as torch. */
  private prevSample(sample: tf.Tensor, timestep: number, prevTimestep: number, modelOutput: tf.Tensor): tf.Tensor {
    const ac = this.alphasCumprod;
    const at = (t: number): number => {
      // torch indexing: negative indices count from the end; past the end is an IndexError.
      const i = t < 0 ? ac.length + t : t;
      if (i < 0 || i >= ac.length) {
        throw new Error(`PNDMScheduler.step: timestep ${t} is outside the trained timesteps [0, ${ac.length - 1}]`);
      }
      return ac[i];
    };
    const alphaProdT = at(timestep);
    const alphaProdTPrev = prevTimestep >= 0 ? at(prevTimestep) : this.finalAlphaCumprod;
    const betaProdT = f32(1 - alphaProdT);
    const betaProdTPrev = f32(1 - alphaProdTPrev);
    const sampleCoeff = sqrtF32(f32(alphaProdTPrev / alphaProdT));
    const denom = f32(f32(alphaProdT * sqrtF32(betaProdTPrev)) + sqrtF32(f32(f32(alphaProdT * betaProdT) * alphaProdTPrev)));
    const diff = f32(alphaProdTPrev - alphaProdT);
    return tf.tidy(() => {
      let eps = modelOutput;
      if (this.config.predictionType === 'v_prediction') {
        eps = tf.add(tf.mul(sqrtF32(alphaProdT), modelOutput), tf.mul(sqrtF32(betaProdT), sample));
      }
      return tf.sub(tf.mul(sampleCoeff, sample), tf.div(tf.mul(diff, eps), denom));
    });
  }

  private replaceCurModelOutput(next: tf.Tensor | null): void {
    this.curModelOutput?.dispose();
    // tf.keep: the state outlives a tf.tidy around `step` (the denoising loop's).
    this.curModelOutput = next === null ? null : tf.keep(next);
  }

  private resetHistory(): void {
    for (const e of this.ets) e.dispose();
    this.ets = [];
    this.counter = 0;
    this.replaceCurModelOutput(null);
    this.curSample?.dispose();
    this.curSample = null;
  }
}
