/**
 * The coefficients of diffusers 0.30.3's `LMSDiscreteScheduler.get_lms_coefficient`, as `scipy.integrate.quad`
 * computes them: ∫ from σ_t to σ_{t+1} of the Lagrange basis polynomial
 * ∏_{k ≠ j} (τ − σ_{t−k}) / (σ_{t−j} − σ_{t−k}), the integrand evaluated in float32 (the σ are float32 torch 0-dim
 * tensors, so every factor is a float32 op), integrated by QUADPACK's 21-point Gauss–Kronrod rule (`dqk21`) in
 * float64 in QUADPACK's order of operations. `quad` (`dqagse`, epsrel 1e-4) accepts that first estimate whenever
 * its error estimate is within the tolerance, which holds for these polynomials of degree ≤ 3: the result is then
 * the same double as SciPy's (the spec checks every coefficient of the fixture bit for bit).
 *
 * The exact integral (closed form) differs from quad's by the float32 rounding of the integrand, a relative 1e-7;
 * {@link lmsCoefficientExact} gives it, for comparison.
 */
import { f32 } from '../math/float32';

// QUADPACK dqk21: the 21 Kronrod abscissae (xgk, the even ones 2, 4, … are the 10-point Gauss abscissae), the
// Kronrod weights (wgk) and the Gauss weights (wg), each written as the shortest decimal of the double that QUADPACK's
// 33-digit constant denotes (the same value; lint's no-loss-of-precision).
const XGK = [
  0.9956571630258081, 0.9739065285171717, 0.9301574913557082,
  0.8650633666889845, 0.7808177265864169, 0.6794095682990244,
  0.5627571346686047, 0.4333953941292472, 0.2943928627014602,
  0.14887433898163122, 0.0,
];
const WGK = [
  0.011694638867371874, 0.032558162307964725, 0.054755896574351995,
  0.07503967481091996, 0.0931254545836976, 0.10938715880229764,
  0.12349197626206584, 0.13470921731147334, 0.14277593857706009,
  0.14773910490133849, 0.1494455540029169,
];
const WG = [
  0.06667134430868814, 0.1494513491505806, 0.21908636251598204,
  0.26926671930999635, 0.29552422471475287,
];
const EPMACH = 2 ** -52;
const UFLOW = 2 ** -1022;

/** What QUADPACK's `dqk21` returns. */
interface Qk21Result {
  result: number;
  abserr: number;
  resabs: number;
  resasc: number;
}

/** QUADPACK's 21-point Gauss–Kronrod rule on [a, b], operation for operation (float64, no fused multiply-add). */
function qk21(f: (x: number) => number, a: number, b: number): Qk21Result {
  const centr = 0.5 * (a + b);
  const hlgth = 0.5 * (b - a);
  const dhlgth = Math.abs(hlgth);
  const fv1 = new Array<number>(10);
  const fv2 = new Array<number>(10);
  let resg = 0;
  const fc = f(centr);
  let resk = WGK[10] * fc;
  let resabs = Math.abs(resk);
  for (let j = 1; j <= 5; j++) {
    const jtw = 2 * j - 1; // Fortran's 2j, 0-based
    const absc = hlgth * XGK[jtw];
    const fval1 = f(centr - absc);
    const fval2 = f(centr + absc);
    fv1[jtw] = fval1;
    fv2[jtw] = fval2;
    const fsum = fval1 + fval2;
    resg = resg + WG[j - 1] * fsum;
    resk = resk + WGK[jtw] * fsum;
    resabs = resabs + WGK[jtw] * (Math.abs(fval1) + Math.abs(fval2));
  }
  for (let j = 1; j <= 5; j++) {
    const jtwm1 = 2 * j - 2; // Fortran's 2j − 1, 0-based
    const absc = hlgth * XGK[jtwm1];
    const fval1 = f(centr - absc);
    const fval2 = f(centr + absc);
    fv1[jtwm1] = fval1;
    fv2[jtwm1] = fval2;
    const fsum = fval1 + fval2;
    resk = resk + WGK[jtwm1] * fsum;
    resabs = resabs + WGK[jtwm1] * (Math.abs(fval1) + Math.abs(fval2));
  }
  const reskh = resk * 0.5;
  let resasc = WGK[10] * Math.abs(fc - reskh);
  for (let j = 0; j < 10; j++) resasc = resasc + WGK[j] * (Math.abs(fv1[j] - reskh) + Math.abs(fv2[j] - reskh));
  const result = resk * hlgth;
  resabs = resabs * dhlgth;
  resasc = resasc * dhlgth;
  let abserr = Math.abs((resk - resg) * hlgth);
  if (resasc !== 0 && abserr !== 0) abserr = resasc * Math.min(1, Math.pow((200 * abserr) / resasc, 1.5));
  if (resabs > UFLOW / (50 * EPMACH)) abserr = Math.max(EPMACH * 50 * resabs, abserr);
  return { result, abserr, resabs, resasc };
}

/**
 * Whether `dqagse` (what `scipy.integrate.quad` runs on a finite interval) returns the first 21-point estimate
 * (`epsabs` 1.49e-8 and `epsrel` as passed): its error estimate is within the tolerance.
 */
function quadAcceptsFirstEstimate(r: Qk21Result, epsrel: number, epsabs = 1.49e-8): boolean {
  const errbnd = Math.max(epsabs, epsrel * Math.abs(r.result));
  if (r.abserr <= 100 * EPMACH * r.resabs && r.abserr > errbnd) return true; // ier = 2: roundoff, returned as is
  return (r.abserr <= errbnd && r.abserr !== r.resasc) || r.abserr === 0;
}

/** The Lagrange basis polynomial of `lms_derivative` at τ, in float32 as torch evaluates it on the σ tensors. */
function lmsIntegrand(sigmas: ArrayLike<number>, order: number, t: number, currentOrder: number): (tau: number) => number {
  return (tau) => {
    const tau32 = f32(tau);
    let prod = 1.0;
    let first = true;
    for (let k = 0; k < order; k++) {
      if (k === currentOrder) continue;
      const factor = f32(f32(tau32 - sigmas[t - k]) / f32(sigmas[t - currentOrder] - sigmas[t - k]));
      prod = first ? factor : f32(prod * factor);
      first = false;
    }
    return prod;
  };
}

/**
 * `get_lms_coefficient(order, t, current_order)`: quad's value (see the module comment). Throws if quad would not
 * stop at the first estimate (never seen for these integrands; it would need QUADPACK's bisection).
 *
 * ```ts
 * lmsCoefficient(scheduler.sigmas, 2, 5, 0);  // the weight of the newest derivative in a 2nd-order step at step 5
 * ```
 */
export function lmsCoefficient(sigmas: ArrayLike<number>, order: number, t: number, currentOrder: number): number {
  if (!Number.isInteger(order) || order < 1 || t - (order - 1) < 0 || t + 1 >= sigmas.length || currentOrder < 0 || currentOrder >= order) {
    throw new Error(`lmsCoefficient: order=${order}, t=${t}, currentOrder=${currentOrder} do not fit a table of ${sigmas.length} σ`);
  }
  const r = qk21(lmsIntegrand(sigmas, order, t, currentOrder), sigmas[t], sigmas[t + 1]);
  if (!quadAcceptsFirstEstimate(r, 1e-4)) {
    throw new Error(`lmsCoefficient: quad would subdivide [σ_${t}, σ_${t + 1}] (error estimate ${r.abserr}); not implemented`);
  }
  return r.result;
}

/** The exact integral of the same Lagrange basis polynomial (float64 closed form, the σ as given), for comparison. */
export function lmsCoefficientExact(sigmas: ArrayLike<number>, order: number, t: number, currentOrder: number): number {
  // Expand ∏ (τ − r_k) / d_k into monomial coefficients, then integrate term by term.
  let poly = [1];
  let scale = 1;
  for (let k = 0; k < order; k++) {
    if (k === currentOrder) continue;
    const r = sigmas[t - k];
    scale *= sigmas[t - currentOrder] - sigmas[t - k];
    const next = new Array<number>(poly.length + 1).fill(0);
    poly.forEach((c, i) => {
      next[i + 1] += c;
      next[i] -= c * r;
    });
    poly = next;
  }
  const antiderivative = (x: number): number => poly.reduce((acc, c, i) => acc + (c * Math.pow(x, i + 1)) / (i + 1), 0);
  return (antiderivative(sigmas[t + 1]) - antiderivative(sigmas[t])) / scale;
}
