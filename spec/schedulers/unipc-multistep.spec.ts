import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../lib/config/config-error';
import { setBackend } from '../../lib/node/backends/set-backend';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DPMSolverMultistepScheduler } from '../../lib/schedulers/dpm-solver-multistep';
import { solveFloat32, solveSlicedFloat32, UniPCMultistepScheduler } from '../../lib/schedulers/unipc-multistep';
import { describeEachBackend } from '../helpers/backends';
import { schedulerFixture } from './scheduler-fixture';
import { caseConfig, caseName, runTrajectory, StepError, tablesOf, trajectoriesOf } from './dpm-fixture';

const NAME = 'UniPCMultistepScheduler';


function build(c: { config: Record<string, unknown>; num_inference_steps: number }): UniPCMultistepScheduler {
  const json = caseConfig(c);
  let solverP: DPMSolverMultistepScheduler | undefined;
  if (typeof json.solver_p === 'string') {
    solverP = DPMSolverMultistepScheduler.fromConfig(dpmBase());
    delete json.solver_p;
  }
  const s = UniPCMultistepScheduler.fromConfig(json, { onWarning: () => {}, solverP });
  s.setTimesteps(c.num_inference_steps);
  return s;
}

function dpmBase(): Record<string, unknown> {
  return caseConfig({ config: {} });
}

/**
 * The limit of the last step to σ = 0, in float64 (for the steps where diffusers returns NaN / ±∞): the predicted
 * x₀ of the data-prediction solver, or, for the noise-prediction one, (x_c − σ·ε)/α from the corrected sample x_c.
 */
function limitX0(e: StepError, corrected: Float32Array, sigma: number, config: Record<string, unknown>): Float64Array {
  const predictionType = (config.prediction_type as string | undefined) ?? 'epsilon';
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const s = sigma * alpha;
  return Float64Array.from(e.input, (x, i) => {
    const m = e.modelOutput[i];
    if (config.predict_x0 !== false) {
      if (predictionType === 'sample') return m;
      if (predictionType === 'v_prediction') return alpha * x - s * m;
      return (x - s * m) / alpha;
    }
    const eps = predictionType === 'epsilon' ? m : predictionType === 'sample' ? (x - alpha * m) / s : alpha * m + s * x;
    return (corrected[i] - s * eps) / alpha;
  });
}

describe('UniPCMultistepScheduler tables against diffusers (exact)', () => {
  const cases = tablesOf(NAME);
  test('the fixture has table cases', () => expect(cases.length).toBeGreaterThan(20));
  test.each(cases.map((c) => [caseName(c), c]))('%s', (_name, c) => {
    const s = build(c);
    expect(Array.from(s.timesteps)).toEqual(c.timesteps);
    expect(Array.from(s.sigmas)).toEqual(c.sigmas.data);
  });
});

describeEachBackend('UniPCMultistepScheduler trajectories against diffusers', () => {
  const cases = trajectoriesOf(NAME);
  test('the fixture has trajectories', () => expect(cases.length).toBeGreaterThan(20));
  test.each(cases.map((c) => [caseName(c), c]))('%s', async (_name, c) => {
    const s = build(c);
    expect(Array.from(s.timesteps)).toEqual(c.timesteps);
    const corrected: Float32Array[] = [];
    const errors = await runTrajectory(s, c, 'NCHW', () => corrected.push(s.lastSample!.dataSync() as Float32Array));
    errors.forEach((e, k) => {
      if (!e.referenceFinite) {
        // diffusers returns NaN / ±∞ here (the last step to σ = 0): this port returns the limit, the predicted x₀.
        expect(k).toBe(errors.length - 1);
        expect(s.sigmas[k + 1]).toBe(0);
        const want = limitX0(e, corrected[k], s.sigmas[k], c.config);
        const scale = Math.max(...Array.from(want, Math.abs));
        const worst = Math.max(...Array.from(want, (w, i) => Math.abs(w - e.output[i])));
        expect(worst / scale).toBeLessThan(1e-5);
        return;
      }
      expect(e.exact).toBe(true);
    });
    s.dispose();
  });
});

describe('UniPCMultistepScheduler measured error', () => {
  beforeAll(() => setBackend('cpu'));
  test('report: worst step error over the fixture (cpu)', async () => {
    let worst = 0;
    let worstAbs = 0;
    let exactSteps = 0;
    let steps = 0;
    for (const c of trajectoriesOf(NAME)) {
      const s = build(c);
      for (const e of await runTrajectory(s, c)) {
        if (!e.referenceFinite) continue;
        steps++;
        if (e.exact) exactSteps++;
        worst = Math.max(worst, e.relative);
        worstAbs = Math.max(worstAbs, e.maxAbs);
      }
      s.dispose();
    }
    console.log(`UniPC vs diffusers: ${exactSteps}/${steps} steps bit-exact; worst relative ${worst}, worst abs ${worstAbs}`);
    expect(exactSteps).toBe(steps);
  });
});

describe('UniPCMultistepScheduler state and options', () => {
  beforeAll(() => setBackend('cpu'));

  test('NHWC tensors give the NCHW results (thresholding reduces per sample in any layout)', async () => {
    for (const c of trajectoriesOf(NAME).filter((t) => t.config.thresholding === true || Object.keys(t.config).length === 0)) {
      const s = build(c);
      const errors = await runTrajectory(s, c, 'NHWC');
      expect(errors.filter((e) => e.referenceFinite).every((e) => e.exact)).toBe(true);
      s.dispose();
    }
  });

  test('setTimesteps resets the multistep state: a second run repeats the first bit for bit', async () => {
    const c = trajectoriesOf(NAME).find((t) => t.config.solver_order === 3 && t.num_inference_steps === 16)!;
    const s = build(c);
    const first = await runTrajectory(s, c);
    s.setTimesteps(c.num_inference_steps);
    const second = await runTrajectory(s, c);
    second.forEach((e, k) => expect(Array.from(e.output)).toEqual(Array.from(first[k].output)));
  });

  test('no tensor leaks; dispose() frees the history and the last sample', async () => {
    const c = trajectoriesOf(NAME)[0];
    const s = build(c);
    const before = tf.memory().numTensors;
    await runTrajectory(s, c);
    expect(tf.memory().numTensors).toBe(before + 3); // 2 model outputs + the last sample
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test.each([['solveFloat32', solveFloat32], ['solveSlicedFloat32', solveSlicedFloat32]])('%s solves a small system', (_n, solve) => {
    const x = solve([[1, 1, 1], [-0.5, -1.5, 1], [0.25, 2.25, 1]], [1, 2, 3]);
    const r = [x[0] + x[1] + x[2], -0.5 * x[0] - 1.5 * x[1] + x[2], 0.25 * x[0] + 2.25 * x[1] + x[2]];
    r.forEach((v, i) => expect(v).toBeCloseTo(i + 1, 5));
    expect(() => solve([[1, 1], [1, 1]], [1, 2])).toThrow(/singular/);
  });
});

describe('UniPCMultistepScheduler.fromConfig and checks', () => {
  beforeAll(() => setBackend('cpu'));

  test('from google/ddpm-cifar10-32 and from DDIM\'s config', () => {
    const warnings: string[] = [];
    const s = UniPCMultistepScheduler.fromConfig(schedulerFixture().scheduler_config, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(s.config.solverType).toBe('bh2');
    const ddim = new DDIMScheduler({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012 });
    expect(UniPCMultistepScheduler.fromConfig(ddim.config, { onWarning: () => {} }).config.betaSchedule).toBe('scaled_linear');
    expect(s.toDiffusersConfig()).toMatchObject({ _class_name: NAME, solver_type: 'bh2', disable_corrector: [], solver_p: null });
  });

  test("diffusers' rewrite: solver_type 'midpoint' → 'bh2'", () => {
    expect(UniPCMultistepScheduler.fromConfig({ solver_type: 'midpoint' }).config.solverType).toBe('bh2');
  });

  test.each([
    [{ solver_type: 'bh3' }, /solver_type="bh3" is not supported/],
    [{ solver_p: { a: 1 } }, /solver_p=\{object\} must be null/],
    [{ disable_corrector: [1, -1] }, /disable_corrector\[1\]=-1/],
    [{ predict_x0: 'yes' }, /predict_x0="yes" must be true or false/],
    [{ final_sigmas_type: 'min' }, /final_sigmas_type="min" is not supported/],
  ])('bad config %j is a ConfigError', (json, message) => {
    expect(() => UniPCMultistepScheduler.fromConfig(json)).toThrow(ConfigError);
    expect(() => UniPCMultistepScheduler.fromConfig(json)).toThrow(message);
  });

  test('step checks', () => {
    const s = new UniPCMultistepScheduler();
    const a = tf.zeros([1, 3, 2, 2]);
    expect(() => s.step(a, 999, a)).toThrow(/call setTimesteps/);
    s.setTimesteps(2);
    expect(() => s.step(a, s.timesteps[0], tf.zeros([1, 3, 2, 3]))).toThrow(/modelOutput has shape/);
    a.dispose();
  });
});
