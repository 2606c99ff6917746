import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../lib/config/config-error';
import { setBackend } from '../../lib/node/backends/set-backend';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DPMSolverSinglestepScheduler, singlestepOrderList } from '../../lib/schedulers/dpm-solver-singlestep';
import { describeEachBackend } from '../helpers/backends';
import { schedulerFixture } from './scheduler-fixture';
import { caseConfig, caseName, DpmTrajectoryCase, runTrajectory, tablesOf, trajectoriesOf } from './dpm-fixture';

const NAME = 'DPMSolverSinglestepScheduler';

function build(c: { config: Record<string, unknown>; num_inference_steps: number }): DPMSolverSinglestepScheduler {
  const s = DPMSolverSinglestepScheduler.fromConfig(caseConfig(c), { onWarning: () => {} });
  s.setTimesteps(c.num_inference_steps);
  return s;
}

describe('DPMSolverSinglestepScheduler tables against diffusers (exact)', () => {
  const cases = tablesOf(NAME);
  test('the fixture has table cases', () => expect(cases.length).toBeGreaterThan(10));
  test.each(cases.map((c) => [caseName(c), c]))('%s', (_name, c) => {
    const s = build(c);
    expect(Array.from(s.timesteps)).toEqual(c.timesteps);
    expect(Array.from(s.sigmas)).toEqual(c.sigmas.data);
  });
});

describeEachBackend('DPMSolverSinglestepScheduler trajectories against diffusers', () => {
  const cases = trajectoriesOf(NAME);
  test('the fixture has trajectories', () => expect(cases.length).toBeGreaterThan(20));
  test.each(cases.map((c) => [caseName(c), c]))('%s: every step bit-exact', async (_name, c: DpmTrajectoryCase & { resolved_config?: Record<string, unknown> }) => {
    const s = build(c);
    expect(Array.from(s.timesteps)).toEqual(c.timesteps);
    expect(s.config.lowerOrderFinal).toBe(c.resolved_config?.lower_order_final);
    const errors = await runTrajectory(s, c);
    const last = errors[errors.length - 1];
    if (!last.referenceFinite) {
      // diffusers' NaN (order 2 to σ = 0): this port returns the newest predicted x₀, (x − σ·ε)/α.
      expect(s.sigmas[errors.length]).toBe(0);
      const sigma = s.sigmas[errors.length - 1];
      const alpha = 1 / Math.sqrt(sigma * sigma + 1);
      const want = Float64Array.from(last.input, (x, i) => (x - sigma * alpha * last.modelOutput[i]) / alpha);
      const scale = Math.max(...Array.from(want, Math.abs));
      expect(Math.max(...Array.from(want, (w, i) => Math.abs(w - last.output[i]))) / scale).toBeLessThan(1e-5);
      errors.pop();
    }
    expect(errors.map((e, k) => `step ${k}: ${e.exact ? 'exact' : `max |Δ| ${e.maxAbs}`}`)).toEqual(errors.map((_, k) => `step ${k}: exact`));
    s.dispose();
  });
});

describe('DPMSolverSinglestepScheduler state, layout, checks', () => {
  beforeAll(() => setBackend('cpu'));

  test("diffusers' order lists", () => {
    expect(singlestepOrderList(5, 2, true)).toEqual([1, 2, 1, 2, 1]);
    expect(singlestepOrderList(6, 2, true)).toEqual([1, 2, 1, 2, 1, 1]);
    expect(singlestepOrderList(6, 3, true)).toEqual([1, 2, 3, 1, 2, 1]);
    expect(singlestepOrderList(7, 3, true)).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(singlestepOrderList(8, 3, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 2]);
    expect(singlestepOrderList(6, 3, false)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(singlestepOrderList(3, 1, false)).toEqual([1, 1, 1]);
  });

  test('NHWC: the SDE variant gives the NCHW results (noise drawn in NCHW order)', async () => {
    const c = trajectoriesOf(NAME).find((t) => t.config.algorithm_type === 'sde-dpmsolver++')!;
    const errors = await runTrajectory(build(c), c, 'NHWC');
    expect(errors.every((e) => e.exact)).toBe(true);
  });

  test('a second run after setTimesteps repeats the first; no tensor leaks; dispose frees the state', async () => {
    const c = trajectoriesOf(NAME).find((t) => t.config.solver_order === 3)!;
    const s = build(c);
    const before = tf.memory().numTensors;
    const first = await runTrajectory(s, c);
    expect(tf.memory().numTensors).toBe(before + 4); // 3 model outputs + the block's start sample
    s.setTimesteps(c.num_inference_steps);
    const second = await runTrajectory(s, c);
    second.forEach((e, k) => expect(Array.from(e.output)).toEqual(Array.from(first[k].output)));
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('fromConfig: a DDPM config, a DDIM config, rewrites, bad values', () => {
    const warnings: string[] = [];
    const s = DPMSolverSinglestepScheduler.fromConfig(schedulerFixture().scheduler_config, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(s.config.lowerOrderFinal).toBe(false);
    s.setTimesteps(10);
    expect(s.config.lowerOrderFinal).toBe(true); // diffusers: final σ 0 needs it
    expect(s.toDiffusersConfig().lower_order_final).toBe(true);
    const ddim = new DDIMScheduler({ betaSchedule: 'squaredcos_cap_v2' });
    // DDIM's timestep_spacing / steps_offset are DDIM's: dropped silently (diffusers' compatibles).
    expect(DPMSolverSinglestepScheduler.fromConfig(ddim.config, { onWarning: (m) => warnings.push(m) }).config.betaSchedule).toBe('squaredcos_cap_v2');
    expect(warnings).toEqual([]);
    expect(DPMSolverSinglestepScheduler.fromConfig({ algorithm_type: 'deis', final_sigmas_type: 'sigma_min' }).config.algorithmType).toBe('dpmsolver++');
    for (const [json, message] of [
      [{ algorithm_type: 'sde-dpmsolver' }, /algorithm_type="sde-dpmsolver" is not supported/],
      [{ algorithm_type: 'dpmsolver' }, /final_sigmas_type="zero" is not supported/],
      [{ algorithm_type: 'sde-dpmsolver++', solver_order: 3 }, /solver_order=3 has no update/],
      [{ algorithm_type: 'dpmsolver', final_sigmas_type: 'sigma_min', thresholding: true }, /thresholding=true is not supported/],
    ] as const) {
      expect(() => DPMSolverSinglestepScheduler.fromConfig(json)).toThrow(ConfigError);
      expect(() => DPMSolverSinglestepScheduler.fromConfig(json)).toThrow(message);
    }
  });

  test('step checks', () => {
    const s = new DPMSolverSinglestepScheduler();
    const a = tf.zeros([1, 3, 2, 2]);
    expect(() => s.step(a, 999, a)).toThrow(/call setTimesteps/);
    s.setTimesteps(1);
    expect(() => s.step(a, s.timesteps[0], tf.zeros([1, 3, 2, 3]))).toThrow(/modelOutput has shape/);
    s.step(a, s.timesteps[0], a).prevSample.dispose();
    expect(() => s.step(a, s.timesteps[0], a)).toThrow(/all 1 steps are done/);
    a.dispose();
    s.dispose();
  });
});
