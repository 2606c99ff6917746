import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { DDPMSchedulerConfig } from '../../lib/schedulers/config';
import { DDPMScheduler, DDPMStepOptions } from '../../lib/schedulers/ddpm';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import { describeEachBackend } from '../helpers/backends';
import { maxAbs, maxAbsDiff } from '../helpers/fixtures';
import { FLOAT32_VS_FLOAT64_TOLERANCE, referenceAlphasCumprod, referenceDDPMStep, relativeTo } from './reference-step';
import { DDPMCase, ddpmCases, relativeError, schedulerFixture, STEP_RELATIVE_TOLERANCE, toTensor } from './scheduler-fixture';

const fixture = schedulerFixture();
const cases = ddpmCases();

function schedulerFor(c: DDPMCase): DDPMScheduler {
  const s = DDPMScheduler.fromConfig({ ...fixture.scheduler_config, ...c.config_overrides });
  s.setTimesteps(c.num_inference_steps);
  return s;
}

async function runCase(c: DDPMCase, options: DDPMStepOptions): Promise<{ prev: Float32Array; x0: Float32Array }> {
  const [mo, x] = [toTensor(c.model_output), toTensor(c.sample)];
  const out = schedulerFor(c).step(mo, c.timestep, x, options);
  const result = { prev: (await out.prevSample.data()) as Float32Array, x0: (await out.predOriginalSample.data()) as Float32Array };
  tf.dispose([mo, x, out.prevSample, out.predOriginalSample]);
  return result;
}

describe('DDPM step scalars against diffusers intermediates (exact)', () => {
  test.each(cases.map((c) => [c.id, c]))('%s', (_id, c) => {
    const k = schedulerFor(c).stepCoefficients(c.timestep);
    expect(k.prevTimestep).toBe(c.intermediates.prev_timestep);
    expect(k.variance).toBe(c.intermediates.variance);
  });
});

describeEachBackend('DDPMScheduler.step against diffusers', () => {
  test.each(cases.map((c) => [c.id, c]))('%s (variance_noise from the fixture)', async (_id, c) => {
    const vn = c.variance_noise ? toTensor(c.variance_noise) : undefined;
    const out = await runCase(c, { varianceNoise: vn });
    vn?.dispose();
    expect(relativeError(out.prev, c.prev_sample)).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
    expect(relativeError(out.x0, c.pred_original_sample)).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
    // Measured: bit-identical to torch on cpu and wasm.
    expect(maxAbsDiff(out.prev, c.prev_sample.data)).toBe(0);
    expect(maxAbsDiff(out.x0, c.pred_original_sample.data)).toBe(0);
  });

  test.each(cases.map((c) => [c.id, c]))('%s (noise drawn by the generator when t > 0)', async (_id, c) => {
    if (c.variance_noise) {
      const drawn = randnTensor(c.model_output.shape, { generator: new Generator().manualSeed(c.generator_seed!) });
      expect(Array.from(await drawn.data())).toEqual(c.variance_noise.data);
      drawn.dispose();
    }
    const generator = new Generator().manualSeed(c.generator_seed!);
    const out = await runCase(c, { generator });
    expect(relativeError(out.prev, c.prev_sample)).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
    expect(relativeError(out.x0, c.pred_original_sample)).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
  });
});

const inputs = cases[0];

/** One step with `config` against the float64 reference (posterior mean + σ·z). */
async function checkStep(
  config: Partial<DDPMSchedulerConfig>,
  n: number | undefined,
  t: number,
  noise?: number[],
  tolerance = FLOAT32_VS_FLOAT64_TOLERANCE,
): Promise<{ prev: Float32Array; x0: Float32Array; scheduler: DDPMScheduler }> {
  const s = new DDPMScheduler(config);
  if (n !== undefined) s.setTimesteps(n);
  const [mo, x] = [toTensor(inputs.model_output), toTensor(inputs.sample)];
  const vn = noise ? tf.tensor(noise, mo.shape) : undefined;
  const out = s.step(mo, t, x, { varianceNoise: vn });
  const prev = (await out.prevSample.data()) as Float32Array;
  const x0 = (await out.predOriginalSample.data()) as Float32Array;
  tf.dispose([mo, x, vn, out.prevSample, out.predOriginalSample]);
  const c = s.config;
  const prevT = t - Math.floor(c.numTrainTimesteps / (n ?? c.numTrainTimesteps));
  // ᾱ from the schedule's float64 definition, not the port's tables.
  const alphas = referenceAlphasCumprod(c);
  const at = alphas[t];
  const ap = prevT >= 0 ? alphas[prevT] : 1;
  const betaT = 1 - at / ap;
  const posteriorVariance = Math.max(((1 - ap) / (1 - at)) * betaT, 1e-20);
  const sigma = t === 0 ? 0 : c.varianceType.startsWith('fixed_small') ? Math.sqrt(posteriorVariance) : Math.sqrt(betaT);
  const ref = referenceDDPMStep({
    ...c,
    modelOutput: inputs.model_output.data,
    sample: inputs.sample.data,
    batch: 2,
    alphaProdT: at,
    alphaProdTPrev: ap,
    sigma,
    noise,
  });
  expect(relativeTo(x0, ref.x0)).toBeLessThan(tolerance);
  expect(relativeTo(prev, ref.prev)).toBeLessThan(tolerance);
  return { prev, x0, scheduler: s };
}

describeEachBackend('DDPMScheduler.step options (against a float64 reference)', () => {
  const noise = Array.from(inputs.sample.data, (v, i) => Math.fround(Math.sin(3 * i + v)));
  const changes = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-4);
  let baseline: { prev: Float32Array; x0: Float32Array };
  beforeAll(async () => {
    baseline = await checkStep({}, 10, 500, noise);
  });

  test('varianceType: fixed_small, fixed_small_log (same σ via exp ½ log), fixed_large', async () => {
    const small = await checkStep({ varianceType: 'fixed_small' }, 10, 500, noise);
    const smallLog = await checkStep({ varianceType: 'fixed_small_log' }, 10, 500, noise);
    const large = await checkStep({ varianceType: 'fixed_large' }, 10, 500, noise);
    expect(maxAbsDiff(small.prev, smallLog.prev)).toBeLessThan(1e-6);
    changes(small.prev, large.prev);
    const s = small.scheduler;
    expect(s.getVariance(500, 'fixed_small_log')).toBeCloseTo(Math.sqrt(s.getVariance(500, 'fixed_small')), 7);
    expect(s.getVariance(500, 'fixed_large_log')).toBeCloseTo(Math.log(s.getVariance(500, 'fixed_large')), 6);
  });

  test('predictionType, clipSample, clipSampleRange, thresholding', async () => {
    changes((await checkStep({ predictionType: 'v_prediction' }, 10, 500, noise)).prev, baseline.prev);
    changes((await checkStep({ predictionType: 'sample' }, 10, 500, noise)).prev, baseline.prev);
    expect(maxAbs((await checkStep({ clipSampleRange: 0.25 }, 10, 500, noise)).x0)).toBe(0.25);
    expect(maxAbs((await checkStep({ clipSample: false }, 10, 500, noise)).x0)).toBeGreaterThan(1);
    changes((await checkStep({ thresholding: true, dynamicThresholdingRatio: 0.8, sampleMaxValue: 50 }, 10, 500, noise)).x0, baseline.x0);
  });

  test('schedules: scaled_linear, squaredcos_cap_v2, sigmoid, trainedBetas, rescaleBetasZeroSnr', async () => {
    changes((await checkStep({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012 }, 10, 500, noise)).prev, baseline.prev);
    changes((await checkStep({ betaSchedule: 'squaredcos_cap_v2' }, 10, 500, noise)).prev, baseline.prev);
    changes((await checkStep({ betaSchedule: 'sigmoid' }, 10, 500, noise)).prev, baseline.prev);
    const trainedBetas = Array.from({ length: 50 }, (_, i) => 0.01 + 0.004 * i);
    await checkStep({ numTrainTimesteps: 50, trainedBetas }, 5, 40, noise);
    await checkStep({ rescaleBetasZeroSnr: true, predictionType: 'v_prediction' }, 10, 900, noise);
  });

  test('t = 0 adds no noise; 1000 steps go t → t − 1', async () => {
    const last = await checkStep({}, 1000, 0, noise);
    const withoutNoise = await checkStep({}, 1000, 0);
    expect(last.prev).toEqual(withoutNoise.prev);
    // At t = 1, β_t = 1 − ᾱ₁/ᾱ₀ ≈ 1.2e-4 cancels in float32 (as in torch): ~5e-4 relative error in β_t at most,
    // ~2.3e-5 measured on the step, so this case gets 1e-4.
    await checkStep({}, 1000, 1, noise, 1e-4);
  });

  test('timestepSpacing and stepsOffset choose the timesteps', () => {
    const s = new DDPMScheduler({ timestepSpacing: 'trailing' });
    s.setTimesteps(4);
    expect(Array.from(s.timesteps)).toEqual([999, 749, 499, 249]);
    const o = new DDPMScheduler({ stepsOffset: 2 });
    o.setTimesteps(4);
    expect(Array.from(o.timesteps)).toEqual([752, 502, 252, 2]);
  });
});

describe('DDPMScheduler timesteps', () => {
  beforeAll(() => setBackend('cpu'));

  test('before setTimesteps diffusers steps over all training timesteps (t − 1), and so does this port', async () => {
    const s = new DDPMScheduler();
    expect(s.numInferenceSteps).toBeNull();
    expect(s.previousTimestep(500)).toBe(499);
    await checkStep({}, undefined, 500, Array.from(inputs.sample.data));
  });

  test('custom timesteps: each step goes to the next listed timestep, −1 after the last', () => {
    const s = new DDPMScheduler();
    s.setTimesteps(undefined, { timesteps: [999, 500, 10, 0] });
    expect(Array.from(s.timesteps)).toEqual([999, 500, 10, 0]);
    expect([999, 500, 10, 0].map((t) => s.previousTimestep(t))).toEqual([500, 10, 0, -1]);
    expect(s.stepCoefficients(500).alphaProdTPrev).toBe(s.alphasCumprod[10]);
    expect(s.numInferenceSteps).toBeNull();
    expect(() => s.previousTimestep(7)).toThrow('timestep=7 is not one of the custom timesteps');
    s.setTimesteps(10);
    expect(s.previousTimestep(7)).toBe(-93);
  });

  test('bad setTimesteps input', () => {
    const s = new DDPMScheduler();
    expect(() => s.setTimesteps(0)).toThrow('DDPMScheduler.setTimesteps: numInferenceSteps=0 must be an integer in [1, 1000]');
    expect(() => s.setTimesteps(1001)).toThrow('numInferenceSteps=1001');
    expect(() => s.setTimesteps()).toThrow('numInferenceSteps=undefined');
    expect(() => s.setTimesteps(10, { timesteps: [5, 1] })).toThrow('not both');
    expect(() => s.setTimesteps(undefined, { timesteps: [5, 5] })).toThrow('descending order, but timesteps[1]=5 >= timesteps[0]=5');
    expect(() => s.setTimesteps(undefined, { timesteps: [1000, 5] })).toThrow('timesteps[0]=1000 is outside the trained timesteps');
    expect(() => s.setTimesteps(undefined, { timesteps: [] })).toThrow('options.timesteps is empty');
  });
});

describe('DDPMScheduler quirks kept on purpose', () => {
  beforeAll(() => setBackend('cpu'));

  test("'fixed_large_log' gives NaN for t > 0, as diffusers' step takes √(log β)", async () => {
    const s = new DDPMScheduler({ varianceType: 'fixed_large_log' });
    s.setTimesteps(10);
    expect(s.stepCoefficients(500).noiseScale).toBeNaN();
    expect(s.stepCoefficients(0).noiseScale).toBe(0);
    const x = tf.ones([1, 1, 2, 2]);
    const out = s.step(x, 500, x, { varianceNoise: x });
    expect(Array.from(await out.prevSample.data()).every(Number.isNaN)).toBe(true);
    tf.dispose([x, ...Object.values(out)]);
  });
});

describeEachBackend('DDPMScheduler NHWC layout and memory', () => {
  const c = cases.find((k) => k.config_overrides.thresholding === true)!;
  const toNHWC = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]);

  test("layout 'NHWC': the NHWC step is the NCHW step transposed, bit for bit", async () => {
    const s = schedulerFor(c);
    const [mo, x] = [toTensor(c.model_output), toTensor(c.sample)];
    const [moT, xT] = [toNHWC(mo), toNHWC(x)];
    const ref = s.step(mo, c.timestep, x, { generator: new Generator().manualSeed(c.generator_seed!) });
    const out = s.step(moT, c.timestep, xT, { generator: new Generator().manualSeed(c.generator_seed!), layout: 'NHWC' });
    const refT = toNHWC(ref.prevSample);
    const x0T = toNHWC(ref.predOriginalSample);
    expect(Array.from(await out.prevSample.data())).toEqual(Array.from(await refT.data()));
    expect(Array.from(await out.predOriginalSample.data())).toEqual(Array.from(await x0T.data()));
    tf.dispose([mo, x, moT, xT, refT, x0T, ...Object.values(ref), ...Object.values(out)]);
  });

  test.each<[string, Partial<DDPMSchedulerConfig>, number, DDPMStepOptions]>([
    ['t > 0 with a generator', {}, 500, {}],
    ['t = 0', {}, 0, {}],
    ["'sample' prediction, no clipping", { predictionType: 'sample', clipSample: false }, 500, {}],
    ['thresholding, NHWC', { thresholding: true }, 500, { layout: 'NHWC' }],
  ])('no tensor leaks: %s', (_name, config, t, options) => {
    const s = new DDPMScheduler(config);
    s.setTimesteps(10);
    const mo = tf.randomNormal([2, 4, 4, 3]);
    const x = tf.randomNormal([2, 4, 4, 3]);
    const before = tf.memory().numTensors;
    const out = s.step(mo, t, x, { ...options, generator: new Generator().manualSeed(1) });
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([out.prevSample, out.predOriginalSample]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([mo, x]);
  });

  test('addNoise and getVelocity match DDIM (the same forward process)', async () => {
    const s = new DDPMScheduler();
    const [x, n] = [toTensor(inputs.sample), toTensor(inputs.model_output)];
    const a = s.addNoise(x, n, [3, 700]);
    const v = s.getVelocity(x, n, 700);
    const at = s.alphasCumprod[700];
    const vData = await v.data();
    vData.forEach((value, i) => {
      expect(Math.abs(value - (Math.sqrt(at) * inputs.model_output.data[i] - Math.sqrt(1 - at) * inputs.sample.data[i]))).toBeLessThan(1e-6);
    });
    expect(a.shape).toEqual(x.shape);
    tf.dispose([x, n, a, v]);
  });
});

describe('DDPMScheduler bad input', () => {
  beforeAll(() => setBackend('cpu'));

  test('shapes, timesteps, noise, layout', () => {
    const s = new DDPMScheduler();
    const x = tf.zeros([1, 3, 4, 4]);
    const y = tf.zeros([1, 3, 4, 5]);
    expect(() => s.step(x, 500, y)).toThrow('DDPMScheduler.step: modelOutput has shape [1, 3, 4, 4] but sample has shape [1, 3, 4, 5]');
    expect(() => s.step(x, 1000, x)).toThrow('timestep=1000 is outside the trained timesteps [0, 999]');
    expect(() => s.step(x, 500, x, { generator: new Generator(), varianceNoise: x })).toThrow('either generator or varianceNoise');
    expect(() => s.step(x, 500, x, { varianceNoise: y })).toThrow('varianceNoise has shape [1, 3, 4, 5]');
    expect(() => s.step(x, 500, x, { layout: 'CHW' as never })).toThrow("layout=CHW is not one of 'NCHW', 'NHWC'");
    expect(() => s.getVariance(-2)).toThrow('DDPMScheduler.getVariance: timestep=-2');
    tf.dispose([x, y]);
  });
});
