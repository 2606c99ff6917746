/**
 * Pure helpers that build the scheduler tables: betas, alphas, their cumulative product, and the inference
 * timesteps. Every table reproduces PyTorch 1.13 / NumPy / diffusers 0.30.3 bit for bit (see docs/schedulers.md).
 */
import { f32, fmaF32, sqrtF32 } from '../math/float32';

/** The beta schedules of `DDIMScheduler`; `DDPMScheduler` also has `'sigmoid'`. */
export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type DDPMBetaSchedule = BetaSchedule | 'sigmoid';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';
export type AlphaTransformType = 'cosine' | 'exp';

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on PyTorch's CPU kernel, bit for bit.
 *
 * The kernel computes `start + step * i` for the first half and `end - step * (steps - 1 - i)` for the second
 * (fused multiply-adds in the AVX2 build), in pairs of blocks of 8 lanes that continue a block's base by
 * `base + j * step`; the tail that does not fill a pair of blocks (steps mod 16 values) is computed one at a time.
 *
 * ```ts
 * linspaceFloat32(0.0001, 0.02, 1000);  // the betas of a 'linear' schedule
 * ```
 */
export function linspaceFloat32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 0) return out;
  const start32 = f32(start);
  const end32 = f32(end);
  if (steps === 1) {
    out[0] = start32;
    return out;
  }
  const step = f32(f32(end32 - start32) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const valueAt = (i: number): number =>
    i < halfway ? fmaF32(step, i, start32) : fmaF32(-step, steps - i - 1, end32);
  // cpu_serial_kernel_vec's vectorized loop takes two vectors (16 values) per iteration while 16 remain, then
  // computes the rest one at a time.
  const lanes = 8;
  let i = 0;
  for (; i + 2 * lanes <= steps; i += 2 * lanes) {
    for (const block of [i, i + lanes]) {
      const base = valueAt(block);
      for (let j = 0; j < lanes; j++) out[block + j] = f32(base + f32(j * step));
    }
  }
  for (; i < steps; i++) out[i] = valueAt(i);
  return out;
}

/**
 * diffusers' `betas_for_alpha_bar`: betas that discretise `alpha_bar(t)` (the `'squaredcos_cap_v2'` schedule for
 * `'cosine'`), computed in double precision and stored as float32, as `torch.tensor(betas, dtype=torch.float32)`.
 *
 * ```ts
 * const betas = betasForAlphaBar(1000);            // cosine, max_beta 0.999
 * const betasExp = betasForAlphaBar(1000, 0.999, 'exp');
 * ```
 */
export function betasForAlphaBar(
  numDiffusionTimesteps: number,
  maxBeta = 0.999,
  alphaTransformType: AlphaTransformType = 'cosine',
): Float32Array {
  if (!Number.isInteger(numDiffusionTimesteps) || numDiffusionTimesteps < 1) {
    throw new Error(`betasForAlphaBar: numDiffusionTimesteps=${numDiffusionTimesteps} must be a positive integer`);
  }
  let alphaBar: (t: number) => number;
  if (alphaTransformType === 'cosine') {
    alphaBar = (t) => {
      const c = Math.cos((((t + 0.008) / 1.008) * Math.PI) / 2);
      return c * c;
    };
  } else if (alphaTransformType === 'exp') {
    alphaBar = (t) => Math.exp(t * -12.0);
  } else {
    throw new Error(`betasForAlphaBar: alphaTransformType='${alphaTransformType}' is not one of 'cosine', 'exp'`);
  }
  const betas = new Float32Array(numDiffusionTimesteps);
  for (let i = 0; i < numDiffusionTimesteps; i++) {
    const t1 = i / numDiffusionTimesteps;
    const t2 = (i + 1) / numDiffusionTimesteps;
    betas[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return betas;
}

/**
 * `torch.cumprod` of a float32 vector on the CPU: the running product is kept in double (torch's CPU accumulate
 * type for float) and each output is rounded to float32.
 */
export function cumprodFloat32(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  let product = 1;
  for (let i = 0; i < values.length; i++) {
    product *= values[i];
    out[i] = product;
  }
  return out;
}

/** `1.0 - betas` in float32. */
export function alphasFromBetas(betas: ArrayLike<number>): Float32Array {
  const alphas = new Float32Array(betas.length);
  for (let i = 0; i < betas.length; i++) alphas[i] = 1 - betas[i];
  return alphas;
}

/**
 * diffusers' `rescale_zero_terminal_snr` (Lin et al. 2023, Algorithm 1): rescales float32 betas so that the last
 * timestep has zero signal-to-noise ratio, with torch's float32 rounding at each step.
 *
 * ```ts
 * const betas = rescaleZeroTerminalSnr(linspaceFloat32(0.00085, 0.012, 1000));
 * betas[999];  // 1: alphas_cumprod[999] is 0
 * ```
 */
export function rescaleZeroTerminalSnr(betas: ArrayLike<number>): Float32Array {
  const n = betas.length;
  if (n < 2) throw new Error(`rescaleZeroTerminalSnr: needs at least 2 betas, got ${n}`);
  const alphasBarSqrt = cumprodFloat32(alphasFromBetas(betas)).map(sqrtF32);
  const first = alphasBarSqrt[0];
  const last = alphasBarSqrt[n - 1];
  const scale = f32(first / f32(first - last));
  for (let i = 0; i < n; i++) alphasBarSqrt[i] = f32(f32(alphasBarSqrt[i] - last) * scale);
  const alphasBar = alphasBarSqrt.map((x) => f32(x * x));
  const rescaled = new Float32Array(n);
  rescaled[0] = 1 - alphasBar[0];
  for (let i = 1; i < n; i++) rescaled[i] = 1 - f32(alphasBar[i] / alphasBar[i - 1]);
  return rescaled;
}

/** The inputs of {@link betasForSchedule}, named as in the scheduler configs. */
export interface BetaScheduleOptions {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: DDPMBetaSchedule;
  trainedBetas: ArrayLike<number> | null;
  rescaleBetasZeroSnr: boolean;
}

/**
 * The float32 betas of a scheduler config, as the `__init__` of diffusers' DDIM/DDPM schedulers builds them.
 *
 * ```ts
 * const betas = betasForSchedule({ numTrainTimesteps: 1000, betaStart: 0.0001, betaEnd: 0.02,
 *   betaSchedule: 'linear', trainedBetas: null, rescaleBetasZeroSnr: false });
 * ```
 */
export function betasForSchedule(options: BetaScheduleOptions): Float32Array {
  const { numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas } = options;
  let betas: Float32Array;
  if (trainedBetas !== null) {
    betas = Float32Array.from(trainedBetas);
  } else if (betaSchedule === 'linear') {
    betas = linspaceFloat32(betaStart, betaEnd, numTrainTimesteps);
  } else if (betaSchedule === 'scaled_linear') {
    betas = linspaceFloat32(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrainTimesteps).map((x) => f32(x * x));
  } else if (betaSchedule === 'squaredcos_cap_v2') {
    betas = betasForAlphaBar(numTrainTimesteps);
  } else if (betaSchedule === 'sigmoid') {
    // torch.sigmoid(torch.linspace(-6, 6, T)) * (beta_end - beta_start) + beta_start, in float32. torch's
    // vectorised float32 exp is not libm's: these betas may differ from torch's by an ulp.
    const scale = f32(betaEnd - betaStart);
    const offset = f32(betaStart);
    betas = linspaceFloat32(-6, 6, numTrainTimesteps).map((x) => f32(f32(f32(1 / f32(1 + f32(Math.exp(-x)))) * scale) + offset));
  } else {
    throw new Error(`betasForSchedule: betaSchedule='${betaSchedule}' is not implemented`);
  }
  return options.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** NumPy's `np.round`: halves go to the even neighbour. */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The inference timesteps of diffusers' `set_timesteps` for a `timestep_spacing`, largest first.
 * `stepsOffset` is added for `'leading'` only, as in diffusers.
 *
 * ```ts
 * spacedTimesteps(1000, 10, 'leading', 1);   // [901, 801, …, 1]
 * spacedTimesteps(1000, 10, 'trailing', 0);  // [999, 899, …, 99]
 * spacedTimesteps(1000, 10, 'linspace', 0);  // [999, 888, …, 0]
 * ```
 */
export function spacedTimesteps(
  numTrainTimesteps: number,
  numInferenceSteps: number,
  spacing: TimestepSpacing,
  stepsOffset: number,
): Int32Array {
  const T = numTrainTimesteps;
  const n = numInferenceSteps;
  if (spacing === 'trailing') {
    // np.round(np.arange(T, 0, -T / n)) - 1. NumPy's arange has ceil(T / (T / n)) elements, which is n + 1 for
    // some n (61, 103, … when T = 1000): diffusers then ends the table with timestep -1; kept as is.
    const stepRatio = T / n;
    const length = Math.ceil((0 - T) / -stepRatio);
    // NumPy's arange sets buffer[0] = T, buffer[1] = T + step, then fills buffer[i] = T + i * (buffer[1] - T).
    const second = T + -stepRatio;
    const delta = second - T;
    const trailing = new Int32Array(length);
    for (let i = 0; i < length; i++) {
      const value = i === 0 ? T : i === 1 ? second : T + i * delta;
      trailing[i] = roundHalfToEven(value) - 1;
    }
    return trailing;
  }
  const out = new Int32Array(n);
  if (spacing === 'leading') {
    // (np.arange(0, n) * (T // n)).round()[::-1] + steps_offset
    const stepRatio = Math.floor(T / n);
    for (let i = 0; i < n; i++) out[i] = (n - 1 - i) * stepRatio + stepsOffset;
  } else if (spacing === 'linspace') {
    // np.linspace(0, T - 1, n).round()[::-1]: y_i = i * ((T - 1) / (n - 1)), the last one set to T - 1.
    const step = (T - 1) / (n - 1);
    for (let i = 0; i < n; i++) {
      const y = n > 1 && i === n - 1 ? T - 1 : n > 1 ? i * step : 0;
      out[n - 1 - i] = roundHalfToEven(y);
    }
  } else {
    throw new Error(`spacedTimesteps: timestepSpacing='${spacing}' is not one of 'leading', 'trailing', 'linspace'`);
  }
  return out;
}

/** `np.arange(0, T)[::-1]`: the timesteps a scheduler holds before `setTimesteps`. */
export function allTimestepsDescending(numTrainTimesteps: number): Int32Array {
  const out = new Int32Array(numTrainTimesteps);
  for (let i = 0; i < numTrainTimesteps; i++) out[i] = numTrainTimesteps - 1 - i;
  return out;
}
