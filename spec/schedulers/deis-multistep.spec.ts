import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../lib/config/config-error';
import { setBackend } from '../../lib/node/backends/set-backend';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DEISMultistepScheduler } from '../../lib/schedulers/deis-multistep';
import { describeEachBackend } from '../helpers/backends';
import { schedulerFixture } from './scheduler-fixture';
import { caseConfig, caseName, runTrajectory, tablesOf, trajectoriesOf } from './dpm-fixture';

const NAME = 'DEISMultistepScheduler';

function build(c: { config: Record<string, unknown>; num_inference_steps: number }): DEISMultistepScheduler {
  const s = DEISMultistepScheduler.fromConfig(caseConfig(c), { onWarning: () => {} });
  s.setTimesteps(c.num_inference_steps);
  return s;
}

describe('DEISMultistepScheduler tables against diffusers (exact)', () => {
  const cases = tablesOf(NAME);
  test('the fixture has table cases', () => expect(cases.length).toBeGreaterThan(20));
  test.each(cases.map((c) => [caseName(c), c]))('%s', (_name, c) => {
    const s = build(c);
    expect(Array.from(s.timesteps)).toEqual(c.timesteps);
    expect(Array.from(s.sigmas)).toEqual(c.sigmas.data);
  });
});

describeEachBackend('DEISMultistepScheduler trajectories against diffusers', () => {
  const cases = trajectoriesOf(NAME);
  test('the fixture has trajectories', () => expect(cases.length).toBeGreaterThan(10));
  test.each(cases.map((c) => [caseName(c), c]))('%s: every step bit-exact', async (_name, c) => {
    const s = build(c);
    expect(Array.from(s.timesteps)).toEqual(c.timesteps);
    const errors = await runTrajectory(s, c);
    expect(errors.map((e, k) => `step ${k}: ${e.exact ? 'exact' : `max |Δ| ${e.maxAbs}`}`)).toEqual(errors.map((_, k) => `step ${k}: exact`));
    s.dispose();
  });
});

describe('DEISMultistepScheduler state and checks', () => {
  beforeAll(() => setBackend('cpu'));

  test('NHWC tensors give the NCHW results (thresholding reduces per sample in any layout)', async () => {
    for (const c of trajectoriesOf(NAME).filter((t) => t.config.thresholding === true || Object.keys(t.config).length === 0)) {
      const s = build(c);
      const errors = await runTrajectory(s, c, 'NHWC');
      expect(errors.filter((e) => e.referenceFinite).every((e) => e.exact)).toBe(true);
      s.dispose();
    }
  });

  test('a second run after setTimesteps repeats the first; no leaks; dispose frees the history', async () => {
    const c = trajectoriesOf(NAME).find((t) => t.config.solver_order === 3)!;
    const s = build(c);
    const before = tf.memory().numTensors;
    const first = await runTrajectory(s, c);
    expect(tf.memory().numTensors).toBe(before + 3);
    s.setTimesteps(c.num_inference_steps);
    const second = await runTrajectory(s, c);
    second.forEach((e, k) => expect(Array.from(e.output)).toEqual(Array.from(first[k].output)));
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('fromConfig: a DDPM config, a DDIM config, rewrites, bad values', () => {
    const warnings: string[] = [];
    const s = DEISMultistepScheduler.fromConfig(schedulerFixture().scheduler_config, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(s.toDiffusersConfig()).toMatchObject({ _class_name: NAME, algorithm_type: 'deis', solver_type: 'logrho' });
    const ddim = new DDIMScheduler({ timestepSpacing: 'trailing' });
    expect(DEISMultistepScheduler.fromConfig(ddim.config, { onWarning: () => {} }).config.timestepSpacing).toBe('trailing');
    const r = DEISMultistepScheduler.fromConfig({ algorithm_type: 'dpmsolver++', solver_type: 'bh2' }).config;
    expect([r.algorithmType, r.solverType]).toEqual(['deis', 'logrho']);
    expect(() => DEISMultistepScheduler.fromConfig({ algorithm_type: 'unipc' })).toThrow(ConfigError);
    expect(() => DEISMultistepScheduler.fromConfig({ solver_type: 'rk4' })).toThrow(/solver_type="rk4" is not supported/);
    expect(() => DEISMultistepScheduler.fromConfig({ solver_order: 0 })).toThrow(/solver_order=0 is not supported/);
  });

  test('step checks', () => {
    const s = new DEISMultistepScheduler();
    const a = tf.zeros([1, 3, 2, 2]);
    expect(() => s.step(a, 999, a)).toThrow(/call setTimesteps/);
    s.setTimesteps(1);
    expect(() => s.step(a, s.timesteps[0], tf.zeros([1, 3, 2, 3]))).toThrow(/modelOutput has shape/);
    a.dispose();
  });
});
