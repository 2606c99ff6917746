/**
 * Float64 reference formulas of the DDIM and DDPM steps, written from the papers (Song et al. 2020, eq. 12;
 * Ho et al. 2020, eq. 7) and diffusers' documented options, one element at a time. They share no code with
 * lib/schedulers: the step-level option tests compare the tfjs float32 steps with them.
 */

export type Prediction = 'epsilon' | 'sample' | 'v_prediction';

/** The schedule part of a scheduler config (camelCase, as the port's `scheduler.config` holds it). */
export interface ReferenceScheduleConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: string;
  trainedBetas: ArrayLike<number> | null;
  rescaleBetasZeroSnr?: boolean;
}

/**
 * ᾱ_t = ∏(1 − β_s) in float64, from the schedules' definitions (Ho et al. 2020 'linear'; 'scaled_linear' as in
 * latent diffusion; Nichol & Dhariwal 2021 'squaredcos_cap_v2' with max β 0.999; 'sigmoid' over [−6, 6]; trained
 * betas as given) and Lin et al. 2023's zero-terminal-SNR rescaling (Algorithm 1). No float32 rounding anywhere:
 * a port's float32 tables land within ~1e-6 relative of it (1.3e-5 near t = T − 1 of the cosine schedule).
 */
export function referenceAlphasCumprod(c: ReferenceScheduleConfig): Float64Array {
  const T = c.numTrainTimesteps;
  const lin = (a: number, b: number, i: number) => (T === 1 ? a : a + ((b - a) * i) / (T - 1));
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const betas = Float64Array.from({ length: T }, (_, i) => {
    if (c.trainedBetas !== null) return c.trainedBetas[i];
    switch (c.betaSchedule) {
      case 'linear':
        return lin(c.betaStart, c.betaEnd, i);
      case 'scaled_linear':
        return lin(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), i) ** 2;
      case 'squaredcos_cap_v2':
        return Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), 0.999);
      case 'sigmoid':
        return c.betaStart + (c.betaEnd - c.betaStart) / (1 + Math.exp(-lin(-6, 6, i)));
      default:
        throw new Error(`referenceAlphasCumprod: no reference for betaSchedule=${c.betaSchedule}`);
    }
  });
  const cumprod = new Float64Array(T);
  let product = 1;
  for (let i = 0; i < T; i++) cumprod[i] = product *= 1 - betas[i];
  if (!c.rescaleBetasZeroSnr) return cumprod;
  // √ᾱ shifted so that the last is 0 and scaled so that the first is unchanged; ᾱ is its square.
  const first = Math.sqrt(cumprod[0]);
  const last = Math.sqrt(cumprod[T - 1]);
  return cumprod.map((a) => ((Math.sqrt(a) - last) * first) / (first - last)).map((r) => r * r);
}

export interface ReferenceX0Options {
  predictionType: Prediction;
  clipSample: boolean;
  clipSampleRange: number;
  thresholding: boolean;
  dynamicThresholdingRatio: number;
  sampleMaxValue: number;
}

/** numpy/torch 'linear' quantile of a list, in double. */
export function quantileLinear(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
}

/** x₀ and ε predicted from the model output, with clipping or dynamic thresholding applied to x₀. */
export function referenceX0(
  modelOutput: ArrayLike<number>,
  sample: ArrayLike<number>,
  batch: number,
  alphaProdT: number,
  o: ReferenceX0Options,
): { x0: Float64Array; eps: Float64Array } {
  const n = sample.length;
  const x0 = new Float64Array(n);
  const eps = new Float64Array(n);
  const a = Math.sqrt(alphaProdT);
  const b = Math.sqrt(1 - alphaProdT);
  for (let i = 0; i < n; i++) {
    const m = modelOutput[i];
    const x = sample[i];
    if (o.predictionType === 'epsilon') {
      x0[i] = (x - b * m) / a;
      eps[i] = m;
    } else if (o.predictionType === 'sample') {
      x0[i] = m;
      eps[i] = (x - a * m) / b;
    } else {
      x0[i] = a * x - b * m;
      eps[i] = a * m + b * x;
    }
  }
  if (o.thresholding) {
    const per = n / batch;
    for (let k = 0; k < batch; k++) {
      const row = Array.from(x0.subarray(k * per, (k + 1) * per), Math.abs);
      const s = Math.min(Math.max(quantileLinear(row, o.dynamicThresholdingRatio), 1), o.sampleMaxValue);
      for (let i = k * per; i < (k + 1) * per; i++) x0[i] = Math.min(Math.max(x0[i], -s), s) / s;
    }
  } else if (o.clipSample) {
    const r = o.clipSampleRange;
    for (let i = 0; i < n; i++) x0[i] = Math.min(Math.max(x0[i], -r), r);
  }
  return { x0, eps };
}

export interface ReferenceDDIMInputs extends ReferenceX0Options {
  modelOutput: ArrayLike<number>;
  sample: ArrayLike<number>;
  batch: number;
  alphaProdT: number;
  alphaProdTPrev: number;
  eta: number;
  useClippedModelOutput: boolean;
  noise?: ArrayLike<number>;
}

/**
 * DDIM (eq. 12): x_{t−1} = √ᾱ_prev · x₀ + √(1 − ᾱ_prev − σ²) · ε + σ · z,
 * σ = η · √((1 − ᾱ_prev) / (1 − ᾱ_t) · (1 − ᾱ_t / ᾱ_prev)).
 */
export function referenceDDIMStep(r: ReferenceDDIMInputs): { prev: Float64Array; x0: Float64Array } {
  const { x0, eps } = referenceX0(r.modelOutput, r.sample, r.batch, r.alphaProdT, r);
  const at = r.alphaProdT;
  const ap = r.alphaProdTPrev;
  const sigma = r.eta * Math.sqrt(((1 - ap) / (1 - at)) * (1 - at / ap));
  const prev = new Float64Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const e = r.useClippedModelOutput ? (r.sample[i] - Math.sqrt(at) * x0[i]) / Math.sqrt(1 - at) : eps[i];
    prev[i] = Math.sqrt(ap) * x0[i] + Math.sqrt(1 - ap - sigma * sigma) * e + (r.eta > 0 ? sigma * r.noise![i] : 0);
  }
  return { prev, x0 };
}

export interface ReferenceDDPMInputs extends ReferenceX0Options {
  modelOutput: ArrayLike<number>;
  sample: ArrayLike<number>;
  batch: number;
  alphaProdT: number;
  alphaProdTPrev: number;
  /** The standard deviation of the added noise (0 at t = 0). */
  sigma: number;
  noise?: ArrayLike<number>;
}

/** DDPM (eq. 7): the posterior mean μ̃(x_t, x₀) plus σ · z. */
export function referenceDDPMStep(r: ReferenceDDPMInputs): { prev: Float64Array; x0: Float64Array } {
  const { x0 } = referenceX0(r.modelOutput, r.sample, r.batch, r.alphaProdT, r);
  const at = r.alphaProdT;
  const ap = r.alphaProdTPrev;
  const betaT = 1 - at / ap;
  const c0 = (Math.sqrt(ap) * betaT) / (1 - at);
  const ct = (Math.sqrt(at / ap) * (1 - ap)) / (1 - at);
  const prev = new Float64Array(x0.length);
  for (let i = 0; i < x0.length; i++) prev[i] = c0 * x0[i] + ct * r.sample[i] + (r.sigma > 0 ? r.sigma * r.noise![i] : 0);
  return { prev, x0 };
}

/** max |a − b| / max |b|. */
export function relativeTo(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/**
 * float32 against this float64 reference: a handful of float32 operations per element (each ≤ 6e-8 relative)
 * amplified by at most 1/√ᾱ_t (≈ 60 at t = 900 of the linear schedule) in x₀, and by the division by √(1 − ᾱ_t)
 * for 'sample' prediction: 2e-5 relative to the largest magnitude bounds them with margin.
 */
export const FLOAT32_VS_FLOAT64_TOLERANCE = 2e-5;
