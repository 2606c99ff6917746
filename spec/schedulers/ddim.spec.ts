import * as tf from '@tensorflow/tfjs-core';
import { DDIMSchedulerConfig } from '../../lib/schedulers/config';
import { ddimStepCoefficients, DDIMScheduler, DDIMStepOptions } from '../../lib/schedulers/ddim';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import { setBackend } from '../../lib/node/backends/set-backend';
import { describeEachBackend } from '../helpers/backends';
import { maxAbs, maxAbsDiff } from '../helpers/fixtures';
import { FLOAT32_VS_FLOAT64_TOLERANCE, referenceAlphasCumprod, referenceDDIMStep, relativeTo } from './reference-step';
import { DDIMCase, ddimCases, relativeError, schedulerFixture, STEP_RELATIVE_TOLERANCE, toTensor } from './scheduler-fixture';

const fixture = schedulerFixture();
const cases = ddimCases();

function schedulerFor(c: DDIMCase): DDIMScheduler {
  const s = DDIMScheduler.fromConfig({ ...fixture.scheduler_config, ...c.config_overrides });
  s.setTimesteps(c.num_inference_steps);
  return s;
}

/** Runs a case's step; returns the outputs as arrays and disposes every tensor. */
async function runCase(c: DDIMCase, options: DDIMStepOptions): Promise<{ prev: Float32Array; x0: Float32Array }> {
  const [mo, x] = [toTensor(c.model_output), toTensor(c.sample)];
  const out = schedulerFor(c).step(mo, c.timestep, x, options);
  const result = { prev: (await out.prevSample.data()) as Float32Array, x0: (await out.predOriginalSample.data()) as Float32Array };
  tf.dispose([mo, x, out.prevSample, out.predOriginalSample]);
  return result;
}

describe('ddimStepCoefficients against diffusers intermediates (exact)', () => {
  test.each(cases.map((c) => [c.id, c]))('%s', (_id, c) => {
    const k = schedulerFor(c).stepCoefficients(c.timestep, c.eta);
    expect(k.prevTimestep).toBe(c.intermediates.prev_timestep);
    expect(k.alphaProdT).toBe(c.intermediates.alpha_prod_t);
    expect(k.alphaProdTPrev).toBe(c.intermediates.alpha_prod_t_prev);
    expect(k.variance).toBe(c.intermediates.variance);
    expect(k.stdDevT).toBe(c.intermediates.std_dev_t);
  });

  test('the pure function reads only the tables it is given', () => {
    const s = new DDIMScheduler();
    const k = ddimStepCoefficients(s, 10, 900, 0);
    expect(k.alphaProdTPrev).toBe(s.alphasCumprod[800]);
    expect(ddimStepCoefficients({ ...s, alphasCumprod: s.alphasCumprod, finalAlphaCumprod: 0.5, numTrainTimesteps: 1000 }, 10, 50).alphaProdTPrev).toBe(0.5);
  });
});

describeEachBackend('DDIMScheduler.step against diffusers', () => {
  test.each(cases.map((c) => [c.id, c]))('%s (variance_noise from the fixture)', async (_id, c) => {
    const vn = c.variance_noise ? toTensor(c.variance_noise) : undefined;
    const out = await runCase(c, { eta: c.eta, useClippedModelOutput: c.use_clipped_model_output, varianceNoise: vn });
    vn?.dispose();
    expect(relativeError(out.prev, c.prev_sample)).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
    expect(relativeError(out.x0, c.pred_original_sample)).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
    // Measured: the same float32 operations in torch's order give torch's bits on cpu and wasm.
    expect(maxAbsDiff(out.prev, c.prev_sample.data)).toBe(0);
    expect(maxAbsDiff(out.x0, c.pred_original_sample.data)).toBe(0);
  });

  const stochastic = cases.filter((c) => c.generator_seed !== null);
  test.each(stochastic.map((c) => [c.id, c]))('%s (noise drawn by the generator, as diffusers does)', async (_id, c) => {
    const drawn = randnTensor(c.model_output.shape, { generator: new Generator().manualSeed(c.generator_seed!) });
    expect(Array.from(await drawn.data())).toEqual(c.variance_noise!.data);
    drawn.dispose();
    const generator = new Generator().manualSeed(c.generator_seed!);
    const out = await runCase(c, { eta: c.eta, useClippedModelOutput: c.use_clipped_model_output, generator });
    expect(relativeError(out.prev, c.prev_sample)).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
    expect(relativeError(out.x0, c.pred_original_sample)).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
  });
});

/** Generic inputs: the fixture's first case (model_output = randn, sample = 1.5 · randn, shape [2, 3, 8, 8]). */
const inputs = cases[0];

/**
 * Runs one step with `config` and compares it with the float64 reference; returns prev_sample so the caller
 * can check that the option changed it.
 */
async function checkStep(
  config: Partial<DDIMSchedulerConfig>,
  n: number,
  t: number,
  options: { eta?: number; useClippedModelOutput?: boolean; noise?: number[] } = {},
): Promise<{ prev: Float32Array; x0: Float32Array }> {
  const s = new DDIMScheduler(config);
  s.setTimesteps(n);
  const [mo, x] = [toTensor(inputs.model_output), toTensor(inputs.sample)];
  const vn = options.noise ? tf.tensor(options.noise, mo.shape) : undefined;
  const out = s.step(mo, t, x, { eta: options.eta, useClippedModelOutput: options.useClippedModelOutput, varianceNoise: vn });
  const prev = (await out.prevSample.data()) as Float32Array;
  const x0 = (await out.predOriginalSample.data()) as Float32Array;
  tf.dispose([mo, x, vn, out.prevSample, out.predOriginalSample]);
  const c = s.config;
  const prevT = t - Math.floor(c.numTrainTimesteps / n);
  const alphas = referenceAlphasCumprod(c);
  const ref = referenceDDIMStep({
    ...c,
    modelOutput: inputs.model_output.data,
    sample: inputs.sample.data,
    batch: 2,
    // ᾱ from the schedule's float64 definition, not the port's tables.
    alphaProdT: alphas[t],
    alphaProdTPrev: prevT >= 0 ? alphas[prevT] : c.setAlphaToOne ? 1 : alphas[0],
    eta: options.eta ?? 0,
    useClippedModelOutput: options.useClippedModelOutput ?? false,
    noise: options.noise,
  });
  expect(relativeTo(x0, ref.x0)).toBeLessThan(FLOAT32_VS_FLOAT64_TOLERANCE);
  expect(relativeTo(prev, ref.prev)).toBeLessThan(FLOAT32_VS_FLOAT64_TOLERANCE);
  return { prev, x0 };
}

describeEachBackend('DDIMScheduler.step options (against a float64 reference)', () => {
  let baseline: { prev: Float32Array; x0: Float32Array };
  beforeAll(async () => {
    baseline = await checkStep({}, 10, 500);
  });
  const changes = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-4);

  test('the reference agrees with diffusers on the fixture cases', () => {
    for (const c of cases.filter((k) => k.intermediates.threshold_s_per_batch === null)) {
      const cfg = schedulerFor(c).config;
      const ref = referenceDDIMStep({
        ...cfg,
        modelOutput: c.model_output.data,
        sample: c.sample.data,
        batch: 2,
        alphaProdT: c.intermediates.alpha_prod_t,
        alphaProdTPrev: c.intermediates.alpha_prod_t_prev,
        eta: c.eta,
        useClippedModelOutput: c.use_clipped_model_output,
        noise: c.variance_noise?.data,
      });
      expect(relativeTo(c.prev_sample.data, ref.prev)).toBeLessThan(FLOAT32_VS_FLOAT64_TOLERANCE);
    }
  });

  test('predictionType', async () => {
    changes((await checkStep({ predictionType: 'v_prediction' }, 10, 500)).prev, baseline.prev);
    changes((await checkStep({ predictionType: 'sample' }, 10, 500)).prev, baseline.prev);
  });

  test('clipSample and clipSampleRange', async () => {
    const unclipped = await checkStep({ clipSample: false }, 10, 500);
    expect(maxAbs(unclipped.x0)).toBeGreaterThan(1);
    expect(maxAbs(baseline.x0)).toBe(1);
    const range = await checkStep({ clipSampleRange: 0.5 }, 10, 500);
    expect(maxAbs(range.x0)).toBe(0.5);
    // clipSampleRange only acts with clipSample
    expect((await checkStep({ clipSample: false, clipSampleRange: 0.5 }, 10, 500)).x0).toEqual(unclipped.x0);
  });

  test('thresholding, dynamicThresholdingRatio and sampleMaxValue (thresholding wins over clipSample)', async () => {
    // |x₀| reaches ~15 at t = 500: a large sampleMaxValue lets the quantile decide s.
    const a = await checkStep({ thresholding: true, dynamicThresholdingRatio: 0.9, sampleMaxValue: 50 }, 10, 500);
    const b = await checkStep({ thresholding: true, dynamicThresholdingRatio: 0.6, sampleMaxValue: 50 }, 10, 500);
    const c = await checkStep({ thresholding: true, dynamicThresholdingRatio: 0.9, sampleMaxValue: 1.5 }, 10, 500);
    changes(a.x0, b.x0);
    changes(a.x0, c.x0);
    changes(a.x0, baseline.x0);
  });

  test('eta, with varianceNoise', async () => {
    const noise = Array.from(inputs.sample.data, (v, i) => Math.fround(Math.cos(i + v)));
    changes((await checkStep({}, 10, 500, { eta: 0.5, noise })).prev, baseline.prev);
    changes((await checkStep({}, 10, 500, { eta: 1, noise })).prev, (await checkStep({}, 10, 500, { eta: 0.5, noise })).prev);
  });

  test('useClippedModelOutput', async () => {
    changes((await checkStep({}, 10, 500, { useClippedModelOutput: true })).prev, baseline.prev);
  });

  test('setAlphaToOne (matters on the last step only)', async () => {
    const one = await checkStep({}, 10, 0);
    const notOne = await checkStep({ setAlphaToOne: false }, 10, 0);
    changes(one.prev, notOne.prev);
    expect((await checkStep({ setAlphaToOne: false }, 10, 500)).prev).toEqual(baseline.prev);
  });

  test('betaSchedule, betaStart, betaEnd', async () => {
    changes((await checkStep({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012 }, 10, 500)).prev, baseline.prev);
    changes((await checkStep({ betaSchedule: 'squaredcos_cap_v2' }, 10, 500)).prev, baseline.prev);
    changes((await checkStep({ betaStart: 0.0002 }, 10, 500)).prev, baseline.prev);
    changes((await checkStep({ betaEnd: 0.03 }, 10, 500)).prev, baseline.prev);
  });

  test('trainedBetas and numTrainTimesteps', async () => {
    const trainedBetas = Array.from({ length: 100 }, (_, i) => 0.001 + 0.002 * i);
    const s = await checkStep({ numTrainTimesteps: 100, trainedBetas }, 10, 50);
    expect(s.prev.every(Number.isFinite)).toBe(true);
  });

  test('rescaleBetasZeroSnr: at t = T − 1, ᾱ = 0 and v_prediction gives x₀ = −v', async () => {
    const r = await checkStep({ rescaleBetasZeroSnr: true, predictionType: 'v_prediction', clipSample: false }, 10, 999);
    expect(Array.from(r.x0)).toEqual(inputs.model_output.data.map((v) => -v));
  });

  test('timestepSpacing and stepsOffset choose the timesteps; the step itself uses t − T // n', async () => {
    const trailing = new DDIMScheduler({ timestepSpacing: 'trailing' });
    trailing.setTimesteps(10);
    expect(trailing.timesteps[0]).toBe(999);
    changes((await checkStep({ timestepSpacing: 'trailing' }, 10, 999)).prev, baseline.prev);
    const offset = new DDIMScheduler({ stepsOffset: 1 });
    offset.setTimesteps(10);
    expect(offset.timesteps[9]).toBe(1);
    await checkStep({ stepsOffset: 1 }, 10, 1);
  });
});

describe('diffusers quirks kept on purpose', () => {
  beforeAll(() => setBackend('cpu'));
  test("'linspace' spacing: the previous timestep is still t − T // n, not the next listed timestep", () => {
    const s = new DDIMScheduler({ timestepSpacing: 'linspace' });
    s.setTimesteps(10);
    expect(Array.from(s.timesteps.slice(0, 2))).toEqual([999, 888]);
    expect(s.stepCoefficients(999).prevTimestep).toBe(899);
  });

  test("'leading' with stepsOffset 1 and n = T lists timestep T, which no step accepts", () => {
    const s = new DDIMScheduler({ stepsOffset: 1 });
    s.setTimesteps(1000);
    expect(s.timesteps[0]).toBe(1000);
    const x = tf.zeros([1, 1, 2, 2]);
    expect(() => s.step(x, 1000, x)).toThrow('timestep=1000 is outside the trained timesteps [0, 999]');
    x.dispose();
  });

  test('with eta > 0 the last step (σ = 0) still draws noise: the generator advances', async () => {
    const s = new DDIMScheduler();
    s.setTimesteps(10);
    const x = tf.ones([1, 3, 4, 4]);
    const g = new Generator().manualSeed(3);
    tf.dispose(Object.values(s.step(x, 0, x, { eta: 1, generator: g })));
    const next = randnTensor([4], { generator: g });
    const expected = new Generator().manualSeed(3);
    randnTensor([1, 3, 4, 4], { generator: expected }).dispose();
    const expectedNext = randnTensor([4], { generator: expected });
    expect(Array.from(await next.data())).toEqual(Array.from(await expectedNext.data()));
    tf.dispose([x, next, expectedNext]);
  });
});

describeEachBackend('DDIMScheduler NHWC layout', () => {
  const c = cases.find((k) => k.intermediates.threshold_s_per_batch !== null && k.eta > 0)!; // thresholding + eta + clipped ε
  const toNHWC = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]);

  async function nchwAndNhwc(generators: () => Generator | Generator[]) {
    const s = schedulerFor(c);
    const [mo, x] = [toTensor(c.model_output), toTensor(c.sample)];
    const [moT, xT] = [toNHWC(mo), toNHWC(x)];
    const options = { eta: c.eta, useClippedModelOutput: c.use_clipped_model_output };
    const ref = s.step(mo, c.timestep, x, { ...options, generator: generators() });
    const nhwc = s.step(moT, c.timestep, xT, { ...options, generator: generators(), layout: 'NHWC' });
    const naive = s.step(moT, c.timestep, xT, { ...options, generator: generators() });
    const refT = [toNHWC(ref.prevSample), toNHWC(ref.predOriginalSample)];
    const result = {
      expected: [await refT[0].data(), await refT[1].data()],
      nhwc: [await nhwc.prevSample.data(), await nhwc.predOriginalSample.data()],
      naive: await naive.prevSample.data(),
    };
    tf.dispose([mo, x, moT, xT, ...refT, ...Object.values(ref), ...Object.values(nhwc), ...Object.values(naive)]);
    return result;
  }

  test("layout 'NHWC' draws torch's NCHW noise: the NHWC step is the NCHW step transposed, bit for bit", async () => {
    const r = await nchwAndNhwc(() => new Generator().manualSeed(c.generator_seed!));
    expect(Array.from(r.nhwc[0])).toEqual(Array.from(r.expected[0]));
    expect(Array.from(r.nhwc[1])).toEqual(Array.from(r.expected[1]));
    // Without the option the same generator fills the NHWC tensor in its own order: another image.
    expect(maxAbsDiff(r.naive, r.expected[0])).toBeGreaterThan(0.1);
  });

  test("layout 'NHWC' with one generator per batch element", async () => {
    const r = await nchwAndNhwc(() => [new Generator().manualSeed(1), new Generator().manualSeed(2)]);
    expect(Array.from(r.nhwc[0])).toEqual(Array.from(r.expected[0]));
  });

  test('varianceNoise is taken in the layout of the tensors', async () => {
    const s = schedulerFor(c);
    const [mo, x, vn] = [toTensor(c.model_output), toTensor(c.sample), toTensor(c.variance_noise!)];
    const [moT, xT, vnT] = [toNHWC(mo), toNHWC(x), toNHWC(vn)];
    const ref = s.step(mo, c.timestep, x, { eta: c.eta, varianceNoise: vn });
    const out = s.step(moT, c.timestep, xT, { eta: c.eta, varianceNoise: vnT, layout: 'NHWC' });
    const refT = toNHWC(ref.prevSample);
    expect(Array.from(await out.prevSample.data())).toEqual(Array.from(await refT.data()));
    tf.dispose([mo, x, vn, moT, xT, vnT, refT, ...Object.values(ref), ...Object.values(out)]);
  });
});

describeEachBackend('DDIMScheduler memory', () => {
  test.each<[string, Partial<DDIMSchedulerConfig>, DDIMStepOptions]>([
    ['eta 0', {}, {}],
    ['eta 1 with a generator', {}, { eta: 1 }],
    ['thresholding, clipped model output', { thresholding: true }, { useClippedModelOutput: true }],
    ["'sample' prediction without clipping (x₀ is a copy, not the input)", { predictionType: 'sample', clipSample: false }, {}],
    ['v_prediction, NHWC noise', { predictionType: 'v_prediction' }, { eta: 0.3, layout: 'NHWC' }],
  ])('no tensor leaks: %s', (_name, config, options) => {
    const s = new DDIMScheduler(config);
    s.setTimesteps(10);
    const mo = tf.randomNormal([2, 4, 4, 3]);
    const x = tf.randomNormal([2, 4, 4, 3]);
    const before = tf.memory().numTensors;
    const out = s.step(mo, 500, x, { ...options, generator: options.eta ? new Generator().manualSeed(0) : undefined });
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(out.predOriginalSample).not.toBe(mo);
    tf.dispose([out.prevSample, out.predOriginalSample]);
    expect(tf.memory().numTensors).toBe(before);
    expect(mo.isDisposed || x.isDisposed).toBe(false);
    tf.dispose([mo, x]);
  });

  test('addNoise and getVelocity leak nothing', () => {
    const s = new DDIMScheduler();
    const x = tf.ones([2, 3, 2, 2]);
    const before = tf.memory().numTensors;
    tf.dispose([s.addNoise(x, x, [1, 2]), s.getVelocity(x, x, 5)]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describeEachBackend('DDIMScheduler forward process', () => {
  test('addNoise: √ᾱ_t · x + √(1 − ᾱ_t) · noise, one timestep per batch element', async () => {
    const s = new DDIMScheduler();
    const [x, noise] = [toTensor(inputs.sample), toTensor(inputs.model_output)];
    const noisy = await s.addNoise(x, noise, [10, 990]).data();
    const per = x.size / 2;
    noisy.forEach((v, i) => {
      const a = s.alphasCumprod[i < per ? 10 : 990];
      const expected = Math.sqrt(a) * inputs.sample.data[i] + Math.sqrt(1 - a) * inputs.model_output.data[i];
      expect(Math.abs(v - expected)).toBeLessThan(1e-6); // float32 ops on values ≤ 6
    });
    const same = await s.addNoise(x, noise, 10).data();
    expect(Array.from(same.slice(0, per))).toEqual(Array.from(noisy.slice(0, per)));
    tf.dispose([x, noise]);
  });

  test('getVelocity: √ᾱ_t · noise − √(1 − ᾱ_t) · sample; v_prediction of it recovers x₀', async () => {
    const s = new DDIMScheduler({ predictionType: 'v_prediction', clipSample: false });
    s.setTimesteps(10);
    const [x0, noise] = [toTensor(inputs.sample), toTensor(inputs.model_output)];
    const xt = s.addNoise(x0, noise, 500);
    const v = s.getVelocity(xt, noise, 500);
    const vAtX0 = s.getVelocity(x0, noise, [500]);
    const a = s.alphasCumprod[500];
    const vData = await vAtX0.data();
    vData.forEach((value, i) => {
      expect(Math.abs(value - (Math.sqrt(a) * inputs.model_output.data[i] - Math.sqrt(1 - a) * inputs.sample.data[i]))).toBeLessThan(1e-6);
    });
    const { prevSample, predOriginalSample } = s.step(vAtX0, 500, xt);
    // x₀ = √ᾱ·x_t − √(1−ᾱ)·v is exact in real numbers; float32 leaves ~1e-6 on values ≤ 6.
    expect(maxAbsDiff(await predOriginalSample.data(), inputs.sample.data)).toBeLessThan(5e-6);
    tf.dispose([x0, noise, xt, v, vAtX0, prevSample, predOriginalSample]);
  });

  test('scaleModelInput returns the sample; initNoiseSigma is 1', () => {
    const s = new DDIMScheduler();
    const x = tf.ones([1, 1, 1, 1]);
    expect(s.scaleModelInput(x, 10)).toBe(x);
    expect(s.initNoiseSigma).toBe(1);
    expect(s.length).toBe(1000);
    x.dispose();
  });
});

describe('DDIMScheduler bad input', () => {
  const s = new DDIMScheduler();
  let x: tf.Tensor;
  beforeAll(async () => {
    await setBackend('cpu');
    x = tf.zeros([1, 3, 4, 4]);
  });
  afterAll(() => x.dispose());

  test('setTimesteps needs an integer in [1, numTrainTimesteps]', () => {
    expect(() => s.setTimesteps(0)).toThrow('DDIMScheduler.setTimesteps: numInferenceSteps=0 must be an integer in [1, 1000]');
    expect(() => s.setTimesteps(1001)).toThrow('numInferenceSteps=1001');
    expect(() => s.setTimesteps(2.5)).toThrow('numInferenceSteps=2.5');
    expect(() => s.setTimesteps('10' as never)).toThrow('numInferenceSteps=10 must be an integer');
  });

  test('step before setTimesteps', () => {
    expect(() => new DDIMScheduler().step(x, 10, x)).toThrow('DDIMScheduler.step: numInferenceSteps is not set; call setTimesteps(n)');
  });

  test('tensors, shapes, timesteps, eta, noise, layout', () => {
    s.setTimesteps(10);
    const y = tf.zeros([1, 4, 4, 3]);
    const ints = tf.zeros([1, 3, 4, 4], 'int32');
    const rank3 = tf.zeros([3, 4, 4]);
    expect(() => s.step(x, 500, y)).toThrow('modelOutput has shape [1, 3, 4, 4] but sample has shape [1, 4, 4, 3]');
    expect(() => s.step(ints, 500, x)).toThrow('modelOutput has dtype int32; expected float32');
    expect(() => s.step([1, 2] as never, 500, x)).toThrow('modelOutput must be a tf.Tensor, got object');
    expect(() => s.step(x, 500, x, { eta: -0.5 })).toThrow('DDIMScheduler.step: eta=-0.5 must be a finite number >= 0');
    expect(() => s.step(x, 500, x, { eta: Number.NaN })).toThrow('eta=NaN');
    expect(() => s.step(x, -1, x)).toThrow('timestep=-1 is outside the trained timesteps [0, 999]');
    expect(() => s.step(x, 500.5, x)).toThrow('timestep=500.5 must be an integer timestep');
    expect(() => s.step(x, 500, x, { eta: 1, generator: new Generator(), varianceNoise: x })).toThrow('either generator or varianceNoise');
    expect(() => s.step(x, 500, x, { eta: 1, varianceNoise: y })).toThrow('varianceNoise has shape [1, 4, 4, 3] but modelOutput has shape [1, 3, 4, 4]');
    expect(() => s.step(x, 500, x, { layout: 'NWHC' as never })).toThrow("layout=NWHC is not one of 'NCHW', 'NHWC'");
    expect(() => s.step(rank3, 500, rank3, { layout: 'NHWC' })).toThrow("layout='NHWC' needs rank-4 tensors");
    expect(() => s.stepCoefficients(500, -1)).toThrow('eta=-1');
    tf.dispose([y, ints, rank3]);
    const disposed = tf.zeros([1, 3, 4, 4]);
    disposed.dispose();
    expect(() => s.step(disposed, 500, x)).toThrow('modelOutput is disposed');
  });

  test('addNoise: timesteps count and range, shapes', () => {
    const noise = tf.zeros([1, 3, 4, 4]);
    const two = tf.zeros([2, 3, 4, 4]);
    expect(() => s.addNoise(two, two, [1, 2, 3])).toThrow('DDIMScheduler.addNoise: got 3 timesteps for a batch of 2');
    expect(() => s.addNoise(x, noise, [1000])).toThrow('timesteps[0]=1000 is outside the trained timesteps');
    expect(() => s.addNoise(x, two, 1)).toThrow('originalSamples has shape [1, 3, 4, 4] but noise has shape [2, 3, 4, 4]');
    expect(() => s.getVelocity(x, noise, -3)).toThrow('DDIMScheduler.getVelocity: timesteps[0]=-3');
    tf.dispose([noise, two]);
  });
});
