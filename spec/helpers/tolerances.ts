import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsEnabled } from '../../lib/node/backends/native';
import type { TestBackend } from './backends';

/**
 * Every parity bound of the Node suite, in one place: a bound is MARGIN × the worst error measured on that path and
 * backend (max |port − PyTorch| over the elements of every case of the path). The measured figures are printed by
 * the parity specs themselves (a `parity:` line per case), so re-measuring is: run the spec, copy the figures here.
 *
 * MARGIN is 5× the worst error measured. The wasm+native figures are those of the native kernels of issue 19
 * (tfjsd-kernels 1: the same bits on every ISA, so one figure per case), measured on AMD EPYC Zen 3 (AVX2); the
 * cpu and wasm figures were measured after issue 12's kernel changes on AMD EPYC Zen 4.
 * The sensitivity spec (spec/parity/sensitivity.spec.ts) proves that these bounds still catch GroupNorm norm_eps
 * 3e-6 and 1e-5 and a wrong freq_shift on every backend (tiny model), and norm_eps 1e-5 at full size on wasm and
 * wasm+native, so a bound cannot be loosened past what it must catch. At full size norm_eps 3e-6 moves the output by
 * 1.4–2.0e-5, inside 5× the measured error on every backend (it was before the Winograd convolutions too): there the
 * tiny model's bounds are what catch it.
 */
export const MARGIN = 5;

/** The paths a parity bound is measured on. */
export type ParityPath =
  | 'tinyForward'
  | 'tinyPipelineTrace'
  | 'fullForward'
  | 'fullPipeline'
  | 'ddpm256Forward';

/**
 * Worst max abs error measured, per path and backend (cpu, wasm and wasm+native do not depend on the ISA). A backend
 * absent from a path does not run it.
 */
export const MEASURED: Record<ParityPath, Partial<Record<TestBackend, number>>> = {
  // unet_tiny.json forward cases: cpu 1.67e-6 (tiny_seed0_t999), wasm 2.10e-6 (tiny_seed0_t0), wasm+native 1.70e-6
  // (tiny_seed1_t250; with oneDNN before: 1.79e-6 AVX-512 / 1.91e-6 AVX2). Before: 1e-4 on every backend.
  tinyForward: { cpu: 1.7e-6, wasm: 2.1e-6, 'wasm+native': 1.7e-6 },
  // The per-step trace of the 2-step pipeline.json cases (UNet output, x0, x_{t-1}): cpu 3.46e-6, wasm 5.25e-6,
  // wasm+native 5.13e-6 (oneDNN before: 4.53e-6 AVX-512 / 3.87e-6 AVX2). Before: the case's image bound, 1e-4.
  tinyPipelineTrace: { cpu: 3.5e-6, wasm: 5.3e-6, 'wasm+native': 5.2e-6 },
  // unet_full.json forward cases (cpu: full_seed21_t250 only; before: no full-size check against PyTorch): cpu 3.46e-6,
  // wasm 3.92e-6 (full_batch2_seed23). wasm+native runs the 32×32 and 16×16 3×3 convolutions as Winograd F(4×4, 3×3)
  // (native/src/kernels_impl.h, transforms in float64): 5.36e-6 (full_batch2_seed23; 4.81e-6 and 5.20e-6 the
  // others); with float32 transforms 5.75e-6; the oneDNN-based kernels before: 5.60e-6 AVX-512 / 5.35e-6 AVX2
  // (3.99e-6 / 2.86e-6 with oneDNN's direct convolution). With Lavin's points (0, ±1, ±2) it was 7.8e-6.
  fullForward: { cpu: 3.5e-6, wasm: 3.9e-6, 'wasm+native': 5.4e-6 },
  // unet_full.json pipeline cases (not on cpu): wasm 9.89e-6; wasm+native (Winograd) 1.76e-5, full_s3_eta1_seed2
  // (oneDNN before: 1.98e-5 AVX-512 / 1.84e-5 AVX2; direct convolutions: 1.20e-5 / 9.66e-6).
  fullPipeline: { wasm: 9.9e-6, 'wasm+native': 1.8e-5 },
  // unet_256_family.json reduced-width forward cases (the google/ddpm-*-256 architecture at block_out_channels 32–128,
  // 64×64; cpu: r256_seed31_t250 only): cpu 2.21e-6, wasm 3.58e-6 (r256_batch2_seed32), wasm+native 2.38e-6
  // (r256_batch2_seed32) measured on AMD EPYC Zen 3, AVX2 only (the AVX-512 kernels are not measured: re-measure on a
  // Zen 4 before trusting this wasm+native bound there).
  ddpm256Forward: { cpu: 2.3e-6, wasm: 3.6e-6, 'wasm+native': 2.4e-6 },
};

/**
 * Tiny pipeline images (spec/fixtures/pipeline.json), per case: deterministic DDIM (eta 0) over many steps with
 * random weights amplifies rounding, so each case gets its own measured figure (max over the backends that run it).
 */
export const MEASURED_TINY_PIPELINE: Record<string, Partial<Record<TestBackend, number>>> = {
  // Measured (rounded up to 2 digits; wasm+native: the native kernels of issue 19, the same on every ISA). Before: max(1e-4, 20 × the case's float32-vs-float64 gap) on every backend,
  // i.e. 1e-4 for all but the 10-step eta-0 cases (1.85e-3 b1, 1.77e-3 b2 and genlist).
  tiny_s2_eta0_b1_seed0: { cpu: 1.8e-6, wasm: 2.7e-6, 'wasm+native': 2.6e-6 },
  tiny_s2_eta0_b2_seed0: { cpu: 1.5e-6, wasm: 2.5e-6, 'wasm+native': 2.3e-6 },
  tiny_s2_eta1_b1_seed0: { cpu: 1.8e-6, wasm: 2.7e-6, 'wasm+native': 2.6e-6 },
  tiny_s2_eta1_b2_seed0: { cpu: 1.5e-6, wasm: 2.5e-6, 'wasm+native': 2.3e-6 },
  // Deterministic DDIM over 10 steps amplifies rounding (the fixture's own float32-vs-float64 gap is 9.2e-5).
  tiny_s10_eta0_b1_seed0: { wasm: 1.3e-4, 'wasm+native': 1.0e-4 },
  tiny_s10_eta0_b2_seed0: { wasm: 1.4e-4, 'wasm+native': 8.6e-5 },
  tiny_s10_eta1_b1_seed0: { cpu: 2.3e-6, wasm: 2.5e-6, 'wasm+native': 2.8e-6 },
  tiny_s10_eta1_b2_seed0: { wasm: 2.6e-6, 'wasm+native': 1.7e-6 },
  tiny_s10_eta0_b2_genlist01: { wasm: 1.4e-4, 'wasm+native': 8.6e-5 },
  tiny_s10_eta1_b2_genlist01: { wasm: 2.4e-6, 'wasm+native': 3.5e-6 },
};

/**
 * spec/fixtures/scheduler_pipelines.json: DDPMPipeline on the tiny random UNet with each scheduler of issue 20, per
 * case, against the reference loop written with diffusers' schedulers (max abs error of the [0, 1] images). A case
 * without a figure fails its test and prints what it measured (cases of schedulers not yet registered are skipped).
 */
export const MEASURED_SCHEDULER_PIPELINE: Record<string, Partial<Record<TestBackend, number>>> = {
  // Measured on AMD EPYC Zen 3 (AVX2; wasm+native's AVX-512 figure not measured), rounded up to 2 digits.
  // DDPM: 1.73e-6 cpu, 2.00e-6 wasm, 1.97e-6 wasm+native.
  ddpm_s10_b2: { cpu: 1.8e-6, wasm: 2.0e-6, 'wasm+native': 2.0e-6 },
  // (cpu runs ddpm_s10_b2 and heun_s4_b1 only.)
  // Deterministic DDIM over 10 steps amplifies rounding, as tiny_s10_eta0_* above: 1.14e-4 wasm, 1.42e-4 wasm+native.
  ddim_s10_b2: { wasm: 1.2e-4, 'wasm+native': 1.5e-4 },
  // The other schedulers' cases (issue 20's eleven ports), measured on AMD EPYC Zen 3 (AVX2) under heavy load (load
  // does not change the figures), rounded up to 2 digits. The σ-space schedulers start from noise × init_noise_sigma
  // (157.4) and the multistep ones reuse earlier outputs: 1e-5..6e-5, against DDPM's 2e-6.
  // wasm / wasm+native measured: dpmpp2m_s20_b2 2.04e-5 / 1.08e-5; dpmpp2m_karras_s8_b1 3.77e-5 / 3.81e-5;
  // sde_dpmpp_s8_b2_genlist 4.23e-5 / 3.23e-5; dpm_single_s8_b1 4.85e-5 / 4.12e-5; unipc_s8_b1 4.91e-5 / 2.39e-5;
  // deis_s8_b1 4.56e-5 / 2.51e-5; pndm_s10_b1 8.85e-6 / 5.30e-6; pndm_prk_s10_b1 5.69e-6 / 5.81e-6;
  // euler_s8_b1 3.88e-5 / 3.43e-5; euler_a_s8_b2_genlist 5.61e-5 / 3.63e-5; heun_s4_b1 3.03e-5 / 3.44e-5 (cpu 2.53e-5);
  // lms_s8_b1 3.88e-5 / 3.49e-5; kdpm2_s4_b1 3.87e-5 / 3.96e-5; kdpm2_a_s4_b2 3.41e-5 / 3.43e-5.
  dpmpp2m_s20_b2: { wasm: 2.1e-5, 'wasm+native': 1.1e-5 },
  dpmpp2m_karras_s8_b1: { wasm: 3.8e-5, 'wasm+native': 3.9e-5 },
  sde_dpmpp_s8_b2_genlist: { wasm: 4.3e-5, 'wasm+native': 3.3e-5 },
  dpm_single_s8_b1: { wasm: 4.9e-5, 'wasm+native': 4.2e-5 },
  unipc_s8_b1: { wasm: 5.0e-5, 'wasm+native': 2.4e-5 },
  deis_s8_b1: { wasm: 4.6e-5, 'wasm+native': 2.6e-5 },
  pndm_s10_b1: { wasm: 8.9e-6, 'wasm+native': 5.3e-6 },
  pndm_prk_s10_b1: { wasm: 5.7e-6, 'wasm+native': 5.9e-6 },
  euler_s8_b1: { wasm: 3.9e-5, 'wasm+native': 3.5e-5 },
  euler_a_s8_b2_genlist: { wasm: 5.7e-5, 'wasm+native': 3.7e-5 },
  heun_s4_b1: { cpu: 2.6e-5, wasm: 3.1e-5, 'wasm+native': 3.5e-5 },
  lms_s8_b1: { wasm: 3.9e-5, 'wasm+native': 3.5e-5 },
  kdpm2_s4_b1: { wasm: 3.9e-5, 'wasm+native': 4.0e-5 },
  kdpm2_a_s4_b2: { wasm: 3.5e-5, 'wasm+native': 3.5e-5 },
  // diffusers' own PNDMPipeline (the fixture's pndm_pipeline: batch 2, 10 steps, PRK warm-up; spec/pipelines/pipelines.spec.ts
  // runs it on wasm only): measured 1.44e-5.
  pndm_pipeline: { wasm: 1.5e-5 },
};

/** MARGIN × the measured error of `path` on `backend`; throws for a backend the table has no figure for. */
export function parityBound(path: ParityPath, backend: TestBackend): number {
  const measured = MEASURED[path][backend];
  if (measured === undefined) throw new Error(`spec/helpers/tolerances.ts has no measured error for ${path} on ${backend}`);
  return MARGIN * measured;
}

/** MARGIN × the measured error of a tiny pipeline case on `backend`. */
export function tinyPipelineBound(caseId: string, backend: TestBackend): number {
  const measured = MEASURED_TINY_PIPELINE[caseId]?.[backend];
  if (measured === undefined) throw new Error(`spec/helpers/tolerances.ts has no measured error for pipeline case ${caseId} on ${backend}`);
  return MARGIN * measured;
}

/** One line in the test output with a case's measured error and its bound, so CI logs show the margins. */
export function reportParity(what: string, backend: TestBackend, error: number, bound: number): void {
  console.log(`parity: ${what} [${backend}] max abs error ${error.toExponential(2)} (bound ${bound.toExponential(2)}, ${(bound / Math.max(error, 1e-30)).toFixed(1)}x)`);
}

/** The test backend now active: 'wasm+native' when the wasm backend runs the native kernels (setBackend's 'auto'). */
export function activeTestBackend(): TestBackend {
  const backend = tf.getBackend() as TestBackend;
  return backend === 'wasm' && nativeKernelsEnabled() ? 'wasm+native' : backend;
}

/** The backends the browser e2e runs in headless Chromium (spec/e2e/browser.spec.ts). */
export type BrowserBackend = 'webgl' | 'wasm';

/*
 * Browser bounds: measured in headless Chromium (Debian's chromium 2025-11, --disable-gpu, so WebGL runs on SwiftShader,
 * Chromium's CPU renderer; AMD EPYC Zen 4) by spec/e2e/browser.spec.ts and the control of
 * spec/e2e/browser-sensitivity.spec.ts, which proves that these bounds catch norm_eps 3e-6 and 1e-5 and a wrong
 * freq_shift on webgl and on wasm. A GPU driver rounds differently from SwiftShader: re-measure on one before trusting
 * a webgl bound there.
 *
 * WebGL's error grows with the timestep (t=0: 1.7e-6, like wasm; t=1: 9.1e-6; t=250..999: 1.9-2.3e-5): the timestep
 * embedding's sin/cos of t·f (angles up to ~1000 rad) run in GLSL, whose sin/cos are far less exact than float32's.
 * A single bound over all cases (5 × 2.3e-5) would let norm_eps 3e-6 through (its worst case measures 3.5e-5), so the
 * forward bounds are per case, like the tiny pipeline cases above.
 */

/** Max abs error of each unet_tiny.json forward case (loadUNetFromUrl on models/tiny-random/unet). Before: 1e-4 on both. */
export const MEASURED_BROWSER_FORWARD: Record<string, Record<BrowserBackend, number>> = {
  // Measured webgl 1.67e-6, 9.12e-6, 1.88e-5, 2.14e-5, 2.32e-5, 1.88e-5; wasm 2.10e-6, 1.67e-6, 1.91e-6, 1.91e-6,
  // 1.86e-6, 1.49e-6 (rounded up to 2 digits below).
  tiny_seed0_t0: { webgl: 1.7e-6, wasm: 2.1e-6 },
  tiny_seed0_t1: { webgl: 9.2e-6, wasm: 1.7e-6 },
  tiny_seed0_t500: { webgl: 1.9e-5, wasm: 2.0e-6 },
  tiny_seed0_t999: { webgl: 2.2e-5, wasm: 2.0e-6 },
  tiny_seed1_t250: { webgl: 2.4e-5, wasm: 1.9e-6 },
  tiny_batch2_seed2: { webgl: 1.9e-5, wasm: 1.5e-6 },
};

/**
 * The browser pipeline cases (pipeline.json ids; the demo page runs them): `image`, the worst of the image's max abs
 * error against PyTorch's image and against Node's cpu backend (before: 1e-3 on webgl, 1e-4 on wasm, every case);
 * `absSumUlps`, |imageAbsSum − the fixture's image_abs_sum| in float32 ulps of the fixture's sum (before: no abs-sum
 * check in the browser).
 */
export const MEASURED_BROWSER_PIPELINE: Record<string, Record<BrowserBackend, { image: number; absSumUlps: number }>> = {
  // webgl: 3.23e-5 vs PyTorch, 3.30e-5 vs Node cpu; wasm: 2.62e-6, 2.18e-6.
  tiny_s2_eta0_b1_seed0: { webgl: { image: 3.4e-5, absSumUlps: 2 }, wasm: { image: 2.7e-6, absSumUlps: 1 } },
  // webgl: 2.48e-5 vs PyTorch, 2.40e-5 vs Node cpu; wasm: 2.44e-6, 2.29e-6.
  tiny_s10_eta1_b1_seed0: { webgl: { image: 2.5e-5, absSumUlps: 6 }, wasm: { image: 2.5e-6, absSumUlps: 0 } },
};

/** MARGIN × the measured error of a forward case on a browser backend. */
export function browserForwardBound(caseId: string, backend: BrowserBackend): number {
  const measured = MEASURED_BROWSER_FORWARD[caseId]?.[backend];
  if (measured === undefined) throw new Error(`spec/helpers/tolerances.ts has no measured browser error for forward case ${caseId} on ${backend}`);
  return MARGIN * measured;
}

function measuredBrowserPipeline(caseId: string, backend: BrowserBackend): { image: number; absSumUlps: number } {
  const measured = MEASURED_BROWSER_PIPELINE[caseId]?.[backend];
  if (measured === undefined) throw new Error(`spec/helpers/tolerances.ts has no measured browser error for pipeline case ${caseId} on ${backend}`);
  return measured;
}

/** MARGIN × the measured image error of a browser pipeline case. */
export function browserPipelineBound(caseId: string, backend: BrowserBackend): number {
  return MARGIN * measuredBrowserPipeline(caseId, backend).image;
}

/** The distance between adjacent float32 values at `x` (x ≠ 0). */
export function ulp32(x: number): number {
  return 2 ** (Math.floor(Math.log2(Math.abs(x))) - 23);
}

/**
 * The Node pipeline tests' abs-sum bound for well-conditioned cases (spec/pipelines/ddim-pipeline.spec.ts): numpy's
 * float32 sum and ours may differ by 2 float32 ulps of the sum (the printed 4th decimal may move by one).
 */
export const ABS_SUM_ULPS = 2;

/**
 * Bound on |imageAbsSum(images) − image_abs_sum| of a browser pipeline case: wasm, the Node tests' {@link ABS_SUM_ULPS}
 * (measured 0-1 ulp); webgl, whose per-element error is 10× wasm's, MARGIN × the measured deviation in ulps.
 */
export function browserAbsSumBound(caseId: string, fixtureAbsSum: number, backend: BrowserBackend): number {
  const ulps = backend === 'wasm' ? ABS_SUM_ULPS : MARGIN * measuredBrowserPipeline(caseId, backend).absSumUlps;
  return ulps * ulp32(fixtureAbsSum);
}

/*
 * webgpu in Node (spec/node/backends/webgpu.spec.ts, spec/node/cli/webgpu.spec.ts): tfjs-backend-webgpu 4.22 on Dawn
 * (npm `webgpu` 0.6.2) on SwiftShader 5.0.0 (Chromium's CPU Vulkan), float32 throughout (no shader-f16 on the device).
 * Measured on AMD EPYC Zen 3 (a shared, heavily loaded 2-core VM; the figures do not depend on the load). Like WebGL
 * in the browser, the error grows with the timestep: the sinusoidal embedding's sin/cos of angles up to ~1000 rad run
 * in WGSL, whose sin/cos are less exact than float32's; the figures are within 4 % of Chromium's WebGL and WebGPU on
 * the same SwiftShader (MEASURED_BROWSER_FORWARD). A GPU driver rounds differently: re-measure on one before trusting
 * these bounds there (bench/gpu-check.sh prints the differences against the cpu backend).
 */

/** Max abs error of each unet_tiny.json forward case on Node webgpu (SwiftShader). */
export const MEASURED_WEBGPU_FORWARD: Record<string, number> = {
  // Measured with WEBGPU_DETERMINISM_FLAGS (lib/node/backends/dawn-webgpu.ts): 1.311e-6, 9.060e-6, 1.824e-5, 2.122e-5,
  // 2.361e-5, 1.842e-5 (rounded up to 2 digits below). tfjs' default flags gave 1.907e-6 for t = 0, within 3 % elsewhere.
  tiny_seed0_t0: 1.4e-6,
  tiny_seed0_t1: 9.1e-6,
  tiny_seed0_t500: 1.9e-5,
  tiny_seed0_t999: 2.2e-5,
  tiny_seed1_t250: 2.4e-5,
  tiny_batch2_seed2: 1.9e-5,
};

/** Max abs image error of the 2-step pipeline.json cases on Node webgpu (SwiftShader), against PyTorch's images. */
export const MEASURED_WEBGPU_PIPELINE: Record<string, number> = {
  // Measured 3.132e-5, 3.138e-5 (tfjs' default flags: 3.153e-5, 3.162e-5; Chromium's WebGL on the same SwiftShader:
  // 3.23e-5 for the first).
  tiny_s2_eta0_b1_seed0: 3.2e-5,
  tiny_s2_eta1_b1_seed0: 3.2e-5,
};

/**
 * |imageAbsSum − PyTorch's image_abs_sum| of the embedded model, seed 0, 2 steps, on Node webgpu, in float32 ulps of
 * the sum: `tfjs-diffusers generate --backend webgpu --seed 0 --steps 2 --json` printed 1408.806640625 against
 * PyTorch's 1408.806396484375 (pipeline.json), 2 ulps (1 ulp = 1.22e-4 there), with and without the flags.
 */
export const MEASURED_WEBGPU_ABS_SUM_ULPS = 2;

/** MARGIN × the measured error of a tiny forward case on Node webgpu. */
export function webGpuForwardBound(caseId: string): number {
  const measured = MEASURED_WEBGPU_FORWARD[caseId];
  if (measured === undefined) throw new Error(`spec/helpers/tolerances.ts has no measured webgpu error for forward case ${caseId}`);
  return MARGIN * measured;
}

/** MARGIN × the measured image error of a 2-step pipeline case on Node webgpu. */
export function webGpuPipelineBound(caseId: string): number {
  const measured = MEASURED_WEBGPU_PIPELINE[caseId];
  if (measured === undefined) throw new Error(`spec/helpers/tolerances.ts has no measured webgpu error for pipeline case ${caseId}`);
  return MARGIN * measured;
}

/** MARGIN × the measured abs-sum deviation on Node webgpu, in float32 ulps of `fixtureAbsSum`. */
export function webGpuAbsSumBound(fixtureAbsSum: number): number {
  return MARGIN * MEASURED_WEBGPU_ABS_SUM_ULPS * ulp32(fixtureAbsSum);
}
