import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../lib/config/config-error';
import { setBackend } from '../../lib/node/backends/set-backend';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DPMSolverMultistepScheduler, DPM_SOLVER_MULTISTEP_DEFAULTS } from '../../lib/schedulers/dpm-solver-multistep';
import { describeEachBackend } from '../helpers/backends';
import { schedulerFixture } from './scheduler-fixture';
import { caseConfig, caseName, runTrajectory, tablesOf, trajectoriesOf } from './dpm-fixture';

const NAME = 'DPMSolverMultistepScheduler';

function build(c: { config: Record<string, unknown>; num_inference_steps: number }): DPMSolverMultistepScheduler {
  const s = DPMSolverMultistepScheduler.fromConfig(caseConfig(c), { onWarning: () => {} });
  s.setTimesteps(c.num_inference_steps);
  return s;
}

describe('DPMSolverMultistepScheduler tables against diffusers (exact)', () => {
  const cases = tablesOf(NAME);
  test('the fixture has table cases', () => expect(cases.length).toBeGreaterThan(20));
  test.each(cases.map((c) => [caseName(c), c]))('%s', (_name, c) => {
    const s = build(c);
    expect(Array.from(s.timesteps)).toEqual(c.timesteps);
    expect(s.numInferenceSteps).toBe(c.timesteps.length);
    expect(Array.from(s.sigmas)).toEqual(c.sigmas.data);
  });
});

describeEachBackend('DPMSolverMultistepScheduler trajectories against diffusers', () => {
  const cases = trajectoriesOf(NAME);
  test('the fixture has trajectories', () => expect(cases.length).toBeGreaterThan(20));
  test.each(cases.map((c) => [caseName(c), c]))('%s: every step bit-exact', async (_name, c) => {
    const s = build(c);
    expect(Array.from(s.timesteps)).toEqual(c.timesteps);
    const errors = await runTrajectory(s, c);
    expect(errors.map((e, k) => `step ${k}: ${e.exact ? 'exact' : `max |Δ| ${e.maxAbs}`}`)).toEqual(errors.map((_, k) => `step ${k}: exact`));
    s.dispose();
  });
});

describe('DPMSolverMultistepScheduler NHWC layout', () => {
  beforeAll(() => setBackend('cpu'));
  const pick = trajectoriesOf(NAME).filter((c) => c.config.algorithm_type === 'sde-dpmsolver++' || c.config.variance_type !== undefined);
  test.each(pick.map((c) => [caseName(c), c]))('%s: NHWC tensors give the NCHW results (noise drawn in NCHW order)', async (_name, c) => {
    const s = build(c);
    const errors = await runTrajectory(s, c, 'NHWC');
    expect(errors.every((e) => e.exact)).toBe(true);
  });
});

describe('DPMSolverMultistepScheduler state', () => {
  beforeAll(() => setBackend('cpu'));

  test('setTimesteps resets the multistep history: a second run repeats the first bit for bit', async () => {
    const c = trajectoriesOf(NAME).find((t) => t.config.solver_order === 3 && t.num_inference_steps === 16)!;
    const s = build(c);
    const first = await runTrajectory(s, c);
    s.setTimesteps(c.num_inference_steps);
    expect(s.stepIndex).toBeNull();
    const second = await runTrajectory(s, c);
    expect(first.every((e) => e.exact)).toBe(true);
    expect(second.every((e) => e.exact)).toBe(true);
  });

  test('no tensor leaks over a run; dispose() frees the history', async () => {
    const c = trajectoriesOf(NAME).find((t) => t.config.algorithm_type === 'sde-dpmsolver++')!;
    const s = build(c);
    const before = tf.memory().numTensors;
    await runTrajectory(s, c);
    expect(tf.memory().numTensors).toBe(before + 2); // the history holds solverOrder = 2 tensors
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a step past the last timestep is an error naming the step count', () => {
    const s = new DPMSolverMultistepScheduler();
    s.setTimesteps(1);
    const x = tf.zeros([1, 3, 2, 2]);
    s.step(x, s.timesteps[0], x).prevSample.dispose();
    expect(() => s.step(x, s.timesteps[0], x)).toThrow(/all 1 steps are done/);
    x.dispose();
    s.dispose();
  });
});

describe('DPMSolverMultistepScheduler.fromConfig', () => {
  test('from google/ddpm-cifar10-32 (a DDPMScheduler config): its fields kept, DDPM-only keys dropped silently', () => {
    const warnings: string[] = [];
    const s = DPMSolverMultistepScheduler.fromConfig(schedulerFixture().scheduler_config, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(s.config.betaSchedule).toBe('linear');
    expect(s.config.algorithmType).toBe('dpmsolver++');
    expect(s.config.timestepSpacing).toBe('linspace');
    expect(s.toDiffusersConfig()._class_name).toBe(NAME);
  });

  test("from DDIMScheduler's camelCase config (the swap idiom)", () => {
    const ddim = new DDIMScheduler({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, stepsOffset: 1 });
    const s = DPMSolverMultistepScheduler.fromConfig(ddim.config, { onWarning: () => {} });
    expect(s.config.betaSchedule).toBe('scaled_linear');
    expect(s.config.betaStart).toBe(0.00085);
    expect(s.config.stepsOffset).toBe(1);
  });

  test("an Euler config: its own keys (interpolation_type, sigma_min, …) dropped silently, as diffusers' compatibles", () => {
    const warnings: string[] = [];
    const json = { _class_name: 'EulerDiscreteScheduler', interpolation_type: 'linear', sigma_min: null, sigma_max: null, timestep_type: 'discrete', use_karras_sigmas: true };
    const s = DPMSolverMultistepScheduler.fromConfig(json, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(s.config.useKarrasSigmas).toBe(true);
  });

  test('unknown keys: one warning naming them all', () => {
    const warnings: string[] = [];
    DPMSolverMultistepScheduler.fromConfig({ solver_order: 3, foo: 1, bar_baz: 2 }, { onWarning: (m) => warnings.push(m), source: 's.json' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/s\.json.*foo, bar_baz/);
  });

  test("diffusers' rewrites: algorithm_type 'deis' → 'dpmsolver++', solver_type 'bh2' → 'midpoint'", () => {
    const s = DPMSolverMultistepScheduler.fromConfig({ algorithm_type: 'deis', solver_type: 'bh2', final_sigmas_type: 'sigma_min' });
    expect(s.config.algorithmType).toBe('dpmsolver++');
    expect(s.config.solverType).toBe('midpoint');
  });

  test('lambda_min_clipped: null (JSON of -Infinity) means no clipping', () => {
    expect(DPMSolverMultistepScheduler.fromConfig({ lambda_min_clipped: null }).config.lambdaMinClipped).toBe(-Infinity);
    expect(DPM_SOLVER_MULTISTEP_DEFAULTS.lambdaMinClipped).toBe(-Infinity);
  });

  test.each([
    [{ algorithm_type: 'dpmsolver' }, /final_sigmas_type="zero" is not supported with algorithm_type='dpmsolver'/],
    [{ algorithm_type: 'deis' }, /final_sigmas_type="zero" is not supported with algorithm_type='deis'/],
    [{ algorithm_type: 'sde-dpmsolver++', solver_order: 3 }, /solver_order=3 has no update/],
    [{ solver_order: 4 }, /solver_order=4 is not supported \(supported: 1, 2, 3\)/],
    [{ algorithm_type: 'dpm' }, /algorithm_type="dpm" is not supported/],
    [{ solver_type: 'euler' }, /solver_type="euler" is not supported/],
    [{ final_sigmas_type: 'one' }, /final_sigmas_type="one" is not supported/],
    [{ lambda_min_clipped: 'low' }, /lambda_min_clipped="low" must be a number/],
    [{ timestep_spacing: 'even' }, /timestep_spacing="even" is not supported/],
    [{ trained_betas: [0.1, 0.2] }, /trained_betas=.* has 2 values but num_train_timesteps=1000/],
  ])('bad config %j is a ConfigError', (json, message) => {
    expect(() => DPMSolverMultistepScheduler.fromConfig(json)).toThrow(ConfigError);
    expect(() => DPMSolverMultistepScheduler.fromConfig(json)).toThrow(message);
  });

  test('a typo in constructor options throws', () => {
    expect(() => new DPMSolverMultistepScheduler({ solverorder: 2 } as never)).toThrow(/unknown option solverorder/);
  });
});

describe('DPMSolverMultistepScheduler input checks', () => {
  beforeAll(() => setBackend('cpu'));

  test('step before setTimesteps', () => {
    const s = new DPMSolverMultistepScheduler();
    const x = tf.zeros([1, 3, 2, 2]);
    expect(() => s.step(x, 999, x)).toThrow(/call setTimesteps/);
    x.dispose();
  });

  test('setTimesteps with a bad count', () => {
    const s = new DPMSolverMultistepScheduler();
    expect(() => s.setTimesteps(0)).toThrow(/numInferenceSteps=0 must be an integer in \[1, 1000\]/);
    expect(() => s.setTimesteps(2.5)).toThrow(/numInferenceSteps=2.5/);
  });

  test('shape mismatch, non-tensor, bad layout, both generator and varianceNoise', () => {
    const s = new DPMSolverMultistepScheduler({ algorithmType: 'sde-dpmsolver++' });
    s.setTimesteps(5);
    const a = tf.zeros([1, 3, 2, 2]);
    const b = tf.zeros([1, 3, 2, 3]);
    const t = s.timesteps[0];
    expect(() => s.step(a, t, b)).toThrow(/modelOutput has shape \[1, 3, 2, 2\] but sample has shape \[1, 3, 2, 3\]/);
    expect(() => s.step([1] as never, t, a)).toThrow(/modelOutput must be a tf.Tensor/);
    expect(() => s.step(a, t, a, { layout: 'NCWH' as never })).toThrow(/layout=NCWH/);
    expect(() => s.step(a, t, a, { generator: new Generator(), varianceNoise: a })).toThrow(/either generator or varianceNoise/);
    expect(() => s.step(a, Number.NaN, a)).toThrow(/timestep=NaN/);
    tf.dispose([a, b]);
  });

  test('varianceNoise is used as given (not drawn)', () => {
    const s = new DPMSolverMultistepScheduler({ algorithmType: 'sde-dpmsolver++' });
    s.setTimesteps(3);
    const x = randnTensor([1, 3, 2, 2], { generator: new Generator().manualSeed(1) });
    const zero = tf.zerosLike(x);
    const withZeros = s.step(x, s.timesteps[0], x, { varianceNoise: zero }).prevSample;
    const s2 = new DPMSolverMultistepScheduler({ algorithmType: 'sde-dpmsolver++' });
    s2.setTimesteps(3);
    const withNoise = s2.step(x, s2.timesteps[0], x, { varianceNoise: tf.onesLike(x) }).prevSample;
    expect(Array.from(withZeros.dataSync())).not.toEqual(Array.from(withNoise.dataSync()));
    tf.dispose([x, zero, withZeros, withNoise]);
  });
});

describe('DPMSolverMultistepScheduler.addNoise', () => {
  beforeAll(() => setBackend('cpu'));

  test('α_t · x + σ_t · noise with the σ of the timestep in the schedule', () => {
    const s = new DPMSolverMultistepScheduler();
    s.setTimesteps(10);
    const x = tf.ones([2, 1, 1, 1]);
    const n = tf.fill([2, 1, 1, 1], 2);
    const out = s.addNoise(x, n, [s.timesteps[0], s.timesteps[5]]).dataSync();
    for (const [k, idx] of [[0, 0], [1, 5]]) {
      const sigma = s.sigmas[idx];
      const alpha = Math.fround(1 / Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1))));
      const sig = Math.fround(sigma * alpha);
      expect(out[k]).toBe(Math.fround(alpha + Math.fround(sig * 2)));
    }
    tf.dispose([x, n]);
  });
});
