import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsEnabled } from '../../lib/node/backends/native';
import type { TestBackend } from './backends';

/**
 * Every parity bound of the Node suite, in one place: a bound is MARGIN × the worst error measured on that path and
 * backend (max |port − PyTorch| over the elements of every case of the path). The measured figures are printed by
 * the parity specs themselves (a `parity:` line per case), so re-measuring is: run the spec, copy the figures here.
 *
 * MARGIN is provisional (issue 15): 5× covers the ISA (oneDNN's AVX-512 vs AVX2 paths round differently) and thread
 * count; the coordinator re-measures after the performance issue's kernel changes settle, on both ISAs.
 * The sensitivity spec (spec/parity/sensitivity.spec.ts) proves that these bounds still catch GroupNorm norm_eps
 * 3e-6 and 1e-5 and a wrong freq_shift on every backend, so a bound cannot be loosened past what it must catch.
 */
export const MARGIN = 5;

/** The paths a parity bound is measured on. */
export type ParityPath =
  | 'tinyForward'
  | 'tinyPipelineTrace'
  | 'fullForward'
  | 'fullPipeline';

/**
 * Worst max abs error measured, per path and backend (AMD EPYC Zen 4, AVX-512; measured 2025-11 on branch tests,
 * before issue 12's kernel changes). A backend absent from a path does not run it.
 */
export const MEASURED: Record<ParityPath, Partial<Record<TestBackend, number>>> = {
  // unet_tiny.json forward cases: cpu 1.67e-6 (tiny_seed0_t999), wasm 2.10e-6 (tiny_seed0_t0), wasm+native 1.79e-6
  // (tiny_seed0_t500). Before: 1e-4 on every backend.
  tinyForward: { cpu: 1.7e-6, wasm: 2.1e-6, 'wasm+native': 1.8e-6 },
  // The per-step trace of the 2-step pipeline.json cases (UNet output, x0, x_{t-1}): cpu 3.46e-6, wasm 5.25e-6,
  // wasm+native 4.53e-6. Before: the case's image bound, 1e-4.
  tinyPipelineTrace: { cpu: 3.5e-6, wasm: 5.3e-6, 'wasm+native': 4.6e-6 },
  // unet_full.json forward cases (cpu: full_seed21_t250 only; before: no full-size check against PyTorch): cpu 3.46e-6, wasm 3.92e-6 (full_batch2_seed23),
  // wasm+native 3.99e-6 (full_seed22_t999).
  fullForward: { cpu: 3.5e-6, wasm: 3.9e-6, 'wasm+native': 4.0e-6 },
  // unet_full.json pipeline cases (not on cpu): wasm 9.89e-6, wasm+native 1.20e-5, both full_s3_eta1_seed2.
  fullPipeline: { wasm: 9.9e-6, 'wasm+native': 1.2e-5 },
};

/**
 * Tiny pipeline images (spec/fixtures/pipeline.json), per case: deterministic DDIM (eta 0) over many steps with
 * random weights amplifies rounding, so each case gets its own measured figure (max over the backends that run it).
 */
export const MEASURED_TINY_PIPELINE: Record<string, Partial<Record<TestBackend, number>>> = {
  // Measured (rounded up to 2 digits). Before: max(1e-4, 20 × the case's float32-vs-float64 gap) on every backend,
  // i.e. 1e-4 for all but the 10-step eta-0 cases (1.85e-3 b1, 1.77e-3 b2 and genlist).
  tiny_s2_eta0_b1_seed0: { cpu: 1.8e-6, wasm: 2.7e-6, 'wasm+native': 2.3e-6 },
  tiny_s2_eta0_b2_seed0: { cpu: 1.5e-6, wasm: 2.5e-6, 'wasm+native': 1.7e-6 },
  tiny_s2_eta1_b1_seed0: { cpu: 1.8e-6, wasm: 2.7e-6, 'wasm+native': 2.3e-6 },
  tiny_s2_eta1_b2_seed0: { cpu: 1.5e-6, wasm: 2.5e-6, 'wasm+native': 1.7e-6 },
  // Deterministic DDIM over 10 steps amplifies rounding (the fixture's own float32-vs-float64 gap is 9.2e-5).
  tiny_s10_eta0_b1_seed0: { wasm: 1.3e-4, 'wasm+native': 9.4e-5 },
  tiny_s10_eta0_b2_seed0: { wasm: 1.4e-4, 'wasm+native': 8.5e-5 },
  tiny_s10_eta1_b1_seed0: { cpu: 2.3e-6, wasm: 2.5e-6, 'wasm+native': 2.0e-6 },
  tiny_s10_eta1_b2_seed0: { wasm: 2.6e-6, 'wasm+native': 2.7e-6 },
  tiny_s10_eta0_b2_genlist01: { wasm: 1.4e-4, 'wasm+native': 8.5e-5 },
  tiny_s10_eta1_b2_genlist01: { wasm: 2.4e-6, 'wasm+native': 1.8e-6 },
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
  // eslint-disable-next-line no-console
  console.log(`parity: ${what} [${backend}] max abs error ${error.toExponential(2)} (bound ${bound.toExponential(2)}, ${(bound / Math.max(error, 1e-30)).toFixed(1)}x)`);
}

/** The test backend now active: 'wasm+native' when the wasm backend runs the native kernels (setBackend's 'auto'). */
export function activeTestBackend(): TestBackend {
  const backend = tf.getBackend() as TestBackend;
  return backend === 'wasm' && nativeKernelsEnabled() ? 'wasm+native' : backend;
}
