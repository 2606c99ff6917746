/**
 * The σ (noise level) tables of diffusers 0.30.3's σ-based schedulers (the Euler / Heun / LMS / KDPM2 family,
 * DPM-Solver, UniPC, DEIS), with NumPy's and PyTorch's dtypes and rounding mirrored so the tables match bit for bit:
 *
 * - σ_t = √((1 − ᾱ_t) / ᾱ_t) in float32 torch (`sigmasFromAlphasCumprod`), and its log in NumPy's float32 `np.log`
 *   (an AVX2 rational approximation, not the correctly rounded log: `numpyLogFloat32`);
 * - `np.linspace` and `np.interp` in float64 (`numpyLinspace`, `interpSigmas`);
 * - the Karras et al. (2022) σ ramp in float64 (`karrasSigmas`) and diffusers' `_sigma_to_t`, the σ → t
 *   interpolation in log σ (`sigmaToT`);
 * - the float timesteps of the σ schedulers' `set_timesteps` for each `timestep_spacing` (`sigmaSchedulerTimesteps`).
 *
 * diffusers 0.30.3 has no exponential or beta σ schedules (`use_exponential_sigmas`, `use_beta_sigmas` came later).
 *
 * ```ts
 * const sigmas = sigmasFromAlphasCumprod(alphasCumprod);          // float32, index = training timestep
 * const logSigmas = numpyLogFloat32Array(sigmas);
 * const karras = karrasSigmas(sigmas[0], sigmas[sigmas.length - 1], 10);   // float64, largest first
 * const t = Array.from(karras, (s) => sigmaToT(s, logSigmas));   // float64 model timesteps
 * ```
 */
import { f32, fmaF32, sqrtF32 } from '../math/float32';
import { spacedTimesteps, TimestepSpacing } from './schedule';

/**
 * `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5` on a float32 torch tensor: σ_t for each training timestep t
 * (ascending in t, as `np.array(...)` holds it before diffusers flips or interpolates it).
 *
 * ```ts
 * sigmasFromAlphasCumprod(Float32Array.of(0.5));  // Float32Array [1]
 * ```
 */
export function sigmasFromAlphasCumprod(alphasCumprod: ArrayLike<number>): Float32Array {
  const out = new Float32Array(alphasCumprod.length);
  for (let i = 0; i < alphasCumprod.length; i++) {
    const a = alphasCumprod[i];
    out[i] = sqrtF32(f32(f32(1 - a) / a));
  }
  return out;
}

// NumPy 1.24's float32 log on AVX2 + FMA3 CPUs (`simd_log_FLOAT` in loops_exponent_log.dispatch.c.src): the
// mantissa m in [√½, √2) and exponent e, then log(x) = e·ln2 + P(m − 1)/Q(m − 1), every step a float32 FMA.
// Max error 3.83 ulp; 15–20 % of σ tables differ from the correctly rounded log by an ulp, so it is mirrored.
// Constants: the shortest decimal of the double that NumPy's longer literal denotes (the same value), then float32.
const LOG_P = [0, 0.9999999999999999, 2.112677543073053, 1.4800006335765066, 0.3808837741388408, 0.025899791179079226].map(f32);
const LOG_Q = [1, 2.6126775430731093, 2.453006071784736, 0.9864942958519419, 0.15464763749839067, 0.005875095403124574].map(f32);
const LN2_F32 = f32(0.6931471805599453);
const SQRT1_2_F32 = f32(0.7071067811865476);
const FLT_MIN = 2 ** -126;
const scratch = new DataView(new ArrayBuffer(4));

/**
 * `np.log` of one float32 value as NumPy 1.24 computes it on an x86-64 CPU with AVX2 and FMA3 (the reference
 * environment): bit for bit, not the correctly rounded logarithm. Negative → NaN, 0 → −∞, +∞ → +∞.
 *
 * ```ts
 * numpyLogFloat32(Math.fround(0.1));  // -2.3025851249694824 (f32)
 * ```
 */
export function numpyLogFloat32(value: number): number {
  const x0 = f32(value);
  if (Number.isNaN(x0) || x0 < 0) return NaN;
  if (x0 === 0) return -Infinity;
  if (x0 === Infinity) return Infinity;
  // Denormals are scaled by 2^100 first, and the exponent corrected by 100.
  const denormal = x0 < FLT_MIN;
  const x = denormal ? f32(x0 * 2 ** 100) : x0;
  scratch.setFloat32(0, x);
  const bits = scratch.getUint32(0);
  let exponent = (bits >>> 23) - 126 - (denormal ? 100 : 0);
  scratch.setUint32(0, (bits & 0x7fffff) | (126 << 23));
  let m = scratch.getFloat32(0); // in [0.5, 1)
  if (m <= SQRT1_2_F32) {
    m = f32(m + m);
    exponent -= 1;
  }
  const y = f32(m - 1);
  let num = fmaF32(LOG_P[5], y, LOG_P[4]);
  for (let k = 3; k >= 0; k--) num = fmaF32(num, y, LOG_P[k]);
  let den = fmaF32(LOG_Q[5], y, LOG_Q[4]);
  for (let k = 3; k >= 0; k--) den = fmaF32(den, y, LOG_Q[k]);
  return fmaF32(exponent, LN2_F32, f32(num / den));
}

/** `np.log` of a float32 array, element by element (see {@link numpyLogFloat32}). */
export function numpyLogFloat32Array(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numpyLogFloat32(values[i]);
  return out;
}

/**
 * `np.linspace(start, stop, num)` in float64: `i * step + start` (two roundings), the last value set to `stop`.
 *
 * ```ts
 * numpyLinspace(0, 999, 4);  // Float64Array [0, 333, 666, 999]
 * ```
 */
export function numpyLinspace(start: number, stop: number, num: number): Float64Array {
  if (!Number.isInteger(num) || num < 0) throw new Error(`numpyLinspace: num=${num} must be an integer >= 0`);
  const out = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  if (div <= 0) {
    if (num === 1) out[0] = start;
    return out;
  }
  const step = delta / div;
  for (let i = 0; i < num; i++) out[i] = step === 0 ? ((i / div) * delta) + start : i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * `np.interp(x, np.arange(0, len(fp)), fp)` in float64: the σ at fractional timesteps. Below 0 it gives `fp[0]`,
 * above the last index the last value; at an integer x the table value itself (NumPy's rule).
 *
 * ```ts
 * interpSigmas([0.5, 2], Float32Array.of(1, 2, 4));  // Float64Array [1.5, 4]
 * ```
 */
export function interpSigmas(x: ArrayLike<number>, fp: ArrayLike<number>): Float64Array {
  const n = fp.length;
  if (n === 0) throw new Error('interpSigmas: the σ table is empty');
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xv = x[i];
    if (Number.isNaN(xv)) {
      out[i] = xv;
      continue;
    }
    if (n === 1) {
      out[i] = fp[0];
      continue;
    }
    if (xv < 0) {
      out[i] = fp[0];
      continue;
    }
    if (xv >= n - 1) {
      out[i] = fp[n - 1];
      continue;
    }
    const j = Math.floor(xv);
    if (j === xv) {
      out[i] = fp[j];
      continue;
    }
    const slope = (fp[j + 1] - fp[j]) / 1;
    let v = slope * (xv - j) + fp[j];
    if (Number.isNaN(v)) {
      v = slope * (xv - (j + 1)) + fp[j + 1];
      if (Number.isNaN(v) && fp[j] === fp[j + 1]) v = fp[j];
    }
    out[i] = v;
  }
  return out;
}

/**
 * The noise schedule of Karras et al. (2022) as diffusers' `_convert_to_karras` builds it in float64: ρ = 7,
 * `(σmax^(1/ρ) + ramp · (σmin^(1/ρ) − σmax^(1/ρ)))^ρ` for `ramp = np.linspace(0, 1, n)`, largest first.
 * diffusers takes σmin/σmax from the config when it has `sigma_min`/`sigma_max` set, else from the
 * interpolated σ table's last and first entries.
 *
 * JavaScript's `Math.pow` is not glibc's `pow`: a value may differ from NumPy's in its last bit (the float32 tables
 * made from it agree).
 *
 * ```ts
 * karrasSigmas(0.0292, 14.6146, 5);  // Float64Array [14.6146, …, 0.0292]
 * ```
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, numInferenceSteps: number, rho = 7.0): Float64Array {
  const ramp = numpyLinspace(0, 1, numInferenceSteps);
  const minInvRho = Math.pow(sigmaMin, 1 / rho);
  const maxInvRho = Math.pow(sigmaMax, 1 / rho);
  const out = new Float64Array(numInferenceSteps);
  for (let i = 0; i < numInferenceSteps; i++) out[i] = Math.pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), rho);
  return out;
}

/**
 * diffusers' `_sigma_to_t`: the fractional training timestep of a σ, by linear interpolation of log σ between the
 * two neighbouring entries of `logSigmas` (float32, ascending in t), with NumPy 1.24's dtypes: log σ in float64,
 * but NumPy's value-based casting does the distances and the weight in float32 (a float64 scalar against a float32
 * array) and only `(1 − w)·low + w·high` in float64. `low` is the last index whose log σ is ≤ log σ (0 if none; at
 * most T − 2), the weight is clipped to [0, 1].
 *
 * ```ts
 * sigmaToT(sigmas[500], numpyLogFloat32Array(sigmas));  // 500
 * ```
 */
export function sigmaToT(sigma: number, logSigmas: ArrayLike<number>): number {
  const n = logSigmas.length;
  if (n < 2) throw new Error(`sigmaToT: needs a table of 2 log σ at least, got ${n}`);
  const logSigma = f32(Math.log(Math.max(sigma, 1e-10)));
  // np.cumsum(dists >= 0).argmax(): the first index where the count of (log σ − logSigmas[i] >= 0) is largest,
  // which is the last index where it holds (0 when it never does). The float32 difference has the exact sign.
  let low = 0;
  for (let i = 0; i < n; i++) if (logSigma >= logSigmas[i]) low = i;
  low = Math.min(low, n - 2);
  const high = low + 1;
  const lo = logSigmas[low];
  const hi = logSigmas[high];
  let w = f32(f32(lo - logSigma) / f32(lo - hi));
  w = Math.min(Math.max(w, 0), 1);
  return f32(1 - w) * low + w * high;
}

/**
 * `_sigma_to_t` as KDPM2 calls it for its interpolated σ: σ is a float32 torch 0-dim tensor and `log_sigmas` a
 * torch tensor, so NumPy computes log σ in float64 (a 0-d float32 array with a Python float promotes to float64)
 * and torch does the rest in float32, the final `(1 − w)·low + w·high` too.
 */
export function sigmaToTFloat32(sigma: number, logSigmas: ArrayLike<number>): number {
  const n = logSigmas.length;
  if (n < 2) throw new Error(`sigmaToTFloat32: needs a table of 2 log σ at least, got ${n}`);
  const logSigma = f32(Math.log(Math.max(sigma, 1e-10)));
  if (Number.isNaN(sigma)) return NaN;
  let low = 0;
  for (let i = 0; i < n; i++) if (logSigma >= logSigmas[i]) low = i;
  low = Math.min(low, n - 2);
  const high = low + 1;
  const lo = logSigmas[low];
  const hi = logSigmas[high];
  let w = f32(f32(lo - logSigma) / f32(lo - hi));
  w = Math.min(Math.max(w, 0), 1);
  return f32(f32(f32(1 - w) * low) + f32(w * high));
}

/**
 * The timesteps of the σ schedulers' `set_timesteps` (Euler, Euler ancestral, Heun, LMS, KDPM2), largest first, as
 * float32: `'linspace'` gives `np.linspace(0, T − 1, n)` unrounded (fractional timesteps such as 998.7),
 * `'leading'` `arange(n) · (T // n) + stepsOffset`, `'trailing'` `round(arange(T, 0, −T/n)) − 1`.
 *
 * ```ts
 * sigmaSchedulerTimesteps(1000, 4, 'linspace', 0);  // Float32Array [999, 666, 333, 0]
 * ```
 */
export function sigmaSchedulerTimesteps(
  numTrainTimesteps: number,
  numInferenceSteps: number,
  spacing: TimestepSpacing,
  stepsOffset: number,
): Float32Array {
  if (spacing === 'linspace') {
    const ramp = numpyLinspace(0, numTrainTimesteps - 1, numInferenceSteps);
    const out = new Float32Array(numInferenceSteps);
    for (let i = 0; i < numInferenceSteps; i++) out[i] = ramp[numInferenceSteps - 1 - i];
    return out;
  }
  return Float32Array.from(spacedTimesteps(numTrainTimesteps, numInferenceSteps, spacing, stepsOffset));
}

/**
 * diffusers' `init_noise_sigma` of the σ schedulers: the largest σ for `'linspace'` and `'trailing'` spacing,
 * `(σmax² + 1) ** 0.5` in float32 for `'leading'`.
 */
export function initNoiseSigmaFor(sigmas: ArrayLike<number>, spacing: TimestepSpacing): number {
  let max = -Infinity;
  for (let i = 0; i < sigmas.length; i++) max = Math.max(max, sigmas[i]);
  if (spacing === 'linspace' || spacing === 'trailing') return max;
  return sqrtF32(f32(f32(max * max) + 1));
}

/** `(σ² + 1) ** 0.5` in float32: what `scale_model_input` divides the sample by. */
export function inputScaleFor(sigma: number): number {
  return sqrtF32(f32(f32(sigma * sigma) + 1));
}
