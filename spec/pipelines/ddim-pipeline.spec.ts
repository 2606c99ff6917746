import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { decodePng, floatToByte } from '../../lib/node/png';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { DDIMPipeline, PipelineCancelledError } from '../../lib/pipelines/ddim-pipeline';
import { imageAbsSum } from '../../lib/pipelines/image-abs-sum';
import { Generator } from '../../lib/random/generator';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';
import { describeEachBackend } from '../helpers/backends';
import { fixturePath, maxAbsDiff } from '../helpers/fixtures';
import { activeTestBackend, parityBound, reportParity, tinyPipelineBound } from '../helpers/tolerances';
import { generateCase, nchwToNhwcValues, pipelineCase, pipelineFixture } from './pipeline-fixture';

async function tinyPipeline(): Promise<DDIMPipeline> {
  const unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
  return new DDIMPipeline({ unet, scheduler: pipelineFixture().scheduler_config });
}

function float64AbsSum(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]);
  return sum;
}

/** One unit in the last place of a float32 near `x`. */
function ulp32(x: number): number {
  return 2 ** (Math.floor(Math.log2(Math.abs(x))) - 23);
}

/**
 * The pure-JS cpu backend runs the tiny UNet ~40× slower than wasm (and ~3.5× slower again inside jest, whose vm
 * context slows the per-element broadcasting loops of tfjs-backend-cpu): a 10-step batch-2 case takes about a
 * minute there. So cpu runs every 2-step case and one 10-step case (112 → 22 UNet forwards), wasm runs them all;
 * `cpu and wasm agree` below ties the two backends together.
 */
const CPU_CASES = new Set(['tiny_s2_eta0_b1_seed0', 'tiny_s2_eta0_b2_seed0', 'tiny_s2_eta1_b1_seed0', 'tiny_s2_eta1_b2_seed0', 'tiny_s10_eta1_b1_seed0']);

describeEachBackend('DDIMPipeline against diffusers 0.30.3 (spec/fixtures/pipeline.json)', (backend, label) => {
  let pipeline: DDIMPipeline;
  beforeAll(async () => {
    pipeline = await tinyPipeline();
  });
  afterAll(() => pipeline.dispose());

  const cases = pipelineFixture().cases.filter((c) => backend !== 'cpu' || CPU_CASES.has(c.id));
  test.each(cases.map((c) => [c.id, c] as const))(`${backend}: %s`, async (_id, c) => {
    const tolerance = tinyPipelineBound(c.id, label);
    const traceTolerance = parityBound('tinyPipelineTrace', label);
    let traceError = 0;
    const traced: number[] = [];
    const { images } = await generateCase(pipeline, c, {
      // The per-step trace (2-step cases): every step's UNet output, predicted x0 and x_{t-1}, NCHW in the fixture.
      // Per-step bound: tinyPipelineTrace (spec/helpers/tolerances.ts), over the UNet output, x0 and x_{t-1}.
      onStep: ({ step, timestep, modelOutputNHWC, predOriginalSampleNHWC, sampleNHWC }) => {
        const expected = c.trace?.[step - 1];
        if (expected === undefined) return;
        expect(timestep).toBe(expected.t);
        traceError = Math.max(
          traceError,
          maxAbsDiff(modelOutputNHWC.dataSync(), nchwToNhwcValues(expected.model_output)),
          maxAbsDiff(predOriginalSampleNHWC.dataSync(), nchwToNhwcValues(expected.pred_original_sample)),
          maxAbsDiff(sampleNHWC.dataSync(), nchwToNhwcValues(expected.prev_sample)),
        );
        traced.push(timestep);
      },
    });
    expect(traced).toEqual(c.trace?.map((s) => s.t) ?? []);
    if (c.trace !== undefined) {
      reportParity(`tiny pipeline trace ${c.id}`, label, traceError, traceTolerance);
      expect(traceError).toBeLessThanOrEqual(traceTolerance);
    }
    expect(images.shape).toEqual(c.images.shape);
    expect(Array.from(pipeline.scheduler.timesteps)).toEqual(c.timesteps);
    const imageError = maxAbsDiff(images.data, c.images.data);
    reportParity(`tiny pipeline ${c.id}`, label, imageError, tolerance);
    expect(imageError).toBeLessThanOrEqual(tolerance);

    // The abs-sum. Where the conditioning allows (the per-element tolerance is the 1e-4 floor: torch's own float32
    // result lies within 5e-6 of exact arithmetic), the float64 sum of |image| matches the fixture's to 4 decimals
    // (within 1e-4), and the float32 figure numpy prints (imageAbsSum) within 2 float32 ulps (an ulp is 1.2e-4 at
    // 1408, so the printed 4th decimal can move by one). Otherwise the sum may move by the per-element gap over all
    // elements: N · 20 · mean gap.
    const n = images.data.length;
    const wellConditioned = 20 * c.conditioning.max_abs_diff_vs_float64_evaluation <= 1e-4;
    const sumTolerance = wellConditioned ? 1e-4 : n * 20 * c.conditioning.mean_abs_diff_vs_float64_evaluation;
    expect(Math.abs(float64AbsSum(images.data) - c.image_sum)).toBeLessThanOrEqual(sumTolerance);
    if (wellConditioned) {
      expect(Math.abs(imageAbsSum(images) - c.image_abs_sum)).toBeLessThanOrEqual(2 * ulp32(c.image_abs_sum));
    }

    // A generator list: sample 0 comes from generator 0 alone, so it is the batch-1 seed-0 image of the same run.
    if (c.generator_seeds !== undefined) {
      const single = cases.find((s) => s.generator_seed === c.generator_seeds![0] && s.batch_size === 1 && s.eta === c.eta && s.num_inference_steps === c.num_inference_steps);
      expect(single).toBeDefined();
      expect(maxAbsDiff(images.data.subarray(0, n / 2), single!.images.data)).toBeLessThanOrEqual(tinyPipelineBound(single!.id, label));
    }
  });

  test(`${backend}: the same seed twice gives bit-identical images`, async () => {
    const c = pipelineCase('tiny_s2_eta1_b1_seed0');
    const first = (await generateCase(pipeline, c)).images.data;
    const second = (await generateCase(pipeline, c)).images.data;
    expect(Buffer.from(second.buffer).equals(Buffer.from(first.buffer))).toBe(true);
  });

  test(`${backend}: a generator list gives each sample its own generator's image, initial and step noise alike`, async () => {
    // eta 1 so that every step draws noise too: with [g0, g1], sample b draws only from g_b.
    const run = (generator: Generator | Generator[], batchSize: number) =>
      pipeline.generate({ batchSize, generator, eta: 1, numInferenceSteps: 2, outputType: 'array' });
    const listed = (await run([new Generator().manualSeed(0), new Generator().manualSeed(1)], 2)).images.data;
    const alone0 = (await run(new Generator().manualSeed(0), 1)).images.data;
    const alone1 = (await run(new Generator().manualSeed(1), 1)).images.data;
    // A batch-2 UNet call may round differently from a batch-1 call (~1e-6), never more.
    expect(maxAbsDiff(listed.subarray(0, alone0.length), alone0)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(listed.subarray(alone0.length), alone1)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(alone0, alone1)).toBeGreaterThan(0.1);
  });

  test(`${backend}: a batch split into UNet chunks gives the same images, and numTensors stays flat`, async () => {
    // Noise is drawn for the whole batch (initial, and each step's with eta 1), only the UNet runs per chunk.
    const c = pipelineCase('tiny_s2_eta1_b2_seed0');
    const before = tf.memory().numTensors;
    const during: number[] = [];
    const chunked = (await generateCase(pipeline, c, { maxBatchPerForward: 1, onStep: () => void during.push(tf.memory().numTensors) })).images.data;
    expect(maxAbsDiff(chunked, c.images.data)).toBeLessThanOrEqual(tinyPipelineBound(c.id, label));
    expect(during).toHaveLength(2);
    expect(new Set(during).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('DDIMPipeline: cpu and wasm agree', () => {
  test('the same case on both backends lands within the case tolerance', async () => {
    const c = pipelineCase('tiny_s2_eta1_b1_seed0');
    const results: Float32Array[] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await setBackend(backend);
      const pipeline = await tinyPipeline();
      try {
        results.push((await generateCase(pipeline, c)).images.data);
      } finally {
        pipeline.dispose();
      }
    }
    // Each backend lies within its bound of PyTorch, so within the sum of the two of each other.
    expect(maxAbsDiff(results[0], results[1])).toBeLessThanOrEqual(tinyPipelineBound(c.id, 'cpu') + tinyPipelineBound(c.id, 'wasm'));
  });
});

describe('DDIMPipeline: options, outputs, cancellation (wasm)', () => {
  let pipeline: DDIMPipeline;
  const c = pipelineCase('tiny_s2_eta0_b1_seed0');
  beforeAll(async () => {
    await setBackend('wasm');
    pipeline = await tinyPipeline();
  });
  afterAll(() => pipeline.dispose());

  test("outputType 'tensor' (the default) is an NHWC tensor the caller owns; 'png' gives numpy_to_pil bytes", async () => {
    const before = tf.memory().numTensors;
    const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 2 });
    expect(images.shape).toEqual([1, 32, 32, 3]);
    const values = (await images.data()) as Float32Array;
    images.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(maxAbsDiff(values, c.images.data)).toBeLessThanOrEqual(tinyPipelineBound(c.id, activeTestBackend()));

    const png = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 2, outputType: 'png' });
    expect(png.images).toHaveLength(1);
    const decoded = decodePng(png.images[0]);
    expect([decoded.width, decoded.height, decoded.channels]).toEqual([32, 32, 3]);
    expect(Array.from(decoded.data)).toEqual(Array.from(values, floatToByte));
  });

  test('any scheduler is converted with DDIMScheduler.fromConfig, as diffusers does', async () => {
    const config = pipelineFixture().scheduler_config;
    const fromInstance = new DDIMPipeline({ unet: pipeline.unet, scheduler: DDPMScheduler.fromConfig(config) });
    expect(fromInstance.scheduler).toBeInstanceOf(DDIMScheduler);
    expect(fromInstance.scheduler.config).toEqual(DDIMScheduler.fromConfig(config).config);
    const fromDdim = new DDIMPipeline({ unet: pipeline.unet, scheduler: new DDIMScheduler({ clipSample: false }) });
    expect(fromDdim.scheduler.config.clipSample).toBe(false);
  });

  test('without a generator every run draws fresh noise (no hidden global generator)', async () => {
    const first = (await pipeline.generate({ numInferenceSteps: 1, outputType: 'array' })).images.data;
    const second = (await pipeline.generate({ numInferenceSteps: 1, outputType: 'array' })).images.data;
    expect(maxAbsDiff(first, second)).toBeGreaterThan(0.1);
  });

  test('onStep reports progress; returning false cancels with a clear error and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const steps: { step: number; numSteps: number; timestep: number }[] = [];
    await expect(
      pipeline.generate({
        generator: new Generator().manualSeed(0),
        numInferenceSteps: 10,
        onStep: ({ step, numSteps, timestep, elapsedMs }) => {
          expect(elapsedMs).toBeGreaterThanOrEqual(0);
          steps.push({ step, numSteps, timestep });
          return step < 2;
        },
      }),
    ).rejects.toThrow(new PipelineCancelledError('DDIMPipeline.generate: cancelled after 2 of 10 steps (onStep returned false)'));
    expect(steps).toEqual([
      { step: 1, numSteps: 10, timestep: 900 },
      { step: 2, numSteps: 10, timestep: 800 },
    ]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('an AbortSignal cancels between steps', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const run = pipeline.generate({
      generator: new Generator().manualSeed(0),
      numInferenceSteps: 10,
      signal: controller.signal,
      onStep: ({ step }) => {
        if (step === 3) controller.abort();
      },
    });
    await expect(run).rejects.toThrow('DDIMPipeline.generate: cancelled after 3 of 10 steps (signal aborted)');
    await expect(pipeline.generate({ signal: controller.signal })).rejects.toBeInstanceOf(PipelineCancelledError);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('bad options are refused with the option and the value', async () => {
    const g = new Generator().manualSeed(0);
    await expect(pipeline.generate({ batchSize: 3, generator: [g, g] })).rejects.toThrow(
      'DDIMPipeline.generate: you have passed a list of generators of length 2, but requested a batch size of 3',
    );
    await expect(pipeline.generate({ batchSize: 0 })).rejects.toThrow('DDIMPipeline.generate: batchSize must be a positive integer, got 0');
    await expect(pipeline.generate({ numInferenceSteps: 2.5 })).rejects.toThrow('numInferenceSteps must be a positive integer, got 2.5');
    await expect(pipeline.generate({ numInferenceSteps: 1001 })).rejects.toThrow(
      "numInferenceSteps=1001 exceeds the scheduler's num_train_timesteps=1000",
    );
    await expect(pipeline.generate({ eta: -1 })).rejects.toThrow('eta must be a finite number >= 0, got -1');
    await expect(pipeline.generate({ outputType: 'jpg' as 'png' })).rejects.toThrow(`outputType must be 'tensor', 'array' or 'png', got "jpg"`);
    await expect(pipeline.generate({ maxBatchPerForward: 0 })).rejects.toThrow('maxBatchPerForward must be a positive integer, got 0');
    expect(() => new DDIMPipeline({ unet: {} as never, scheduler: {} })).toThrow('DDIMPipeline: unet must be a UNet2DModel');
  });
});
