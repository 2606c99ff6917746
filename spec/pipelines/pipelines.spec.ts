// The three pipelines over the one denoising loop (lib/pipelines/): DDPMPipeline runs the scheduler it is given,
// DDIMPipeline and PNDMPipeline convert any scheduler, loadPipeline picks the model_index.json class.
import * as tf from '@tensorflow/tfjs-core';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { EMBEDDED_MODEL_DIR } from '../../lib/node/embedded-model';
import '../../lib/node/register-node-loaders';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { DDPMPipeline } from '../../lib/pipelines/ddpm-pipeline';
import { PNDMPipeline } from '../../lib/pipelines/pndm-pipeline';
import { loadPipeline } from '../../lib/pipelines/pipeline-classes';
import { Generator } from '../../lib/random/generator';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';
import { hasScheduler } from '../../lib/schedulers/registry';
import { FixtureArray, fixturePath, loadFixture, maxAbsDiff } from '../helpers/fixtures';
import { MARGIN, MEASURED_SCHEDULER_PIPELINE, reportParity } from '../helpers/tolerances';
import { activeTestBackend } from '../helpers/tolerances';
import { useTestBackend } from '../helpers/backends';

let unet: UNet2DModel;
beforeAll(async () => {
  await useTestBackend('wasm');
  unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
});
afterAll(() => unet?.dispose());

const seeded = (seed: number) => new Generator().manualSeed(seed);

describe('DDPMPipeline', () => {
  test('runs the scheduler instance it is given; a config object becomes the class its _class_name names', () => {
    const ddim = new DDIMScheduler({ timestepSpacing: 'trailing' });
    expect(new DDPMPipeline({ unet, scheduler: ddim }).scheduler).toBe(ddim);
    expect(new DDPMPipeline({ unet, scheduler: { _class_name: 'DDIMScheduler' } }).scheduler).toBeInstanceOf(DDIMScheduler);
    // No _class_name: DDPM, as diffusers' DDPMPipeline is documented with.
    expect(new DDPMPipeline({ unet, scheduler: { beta_end: 0.01 } }).scheduler).toBeInstanceOf(DDPMScheduler);
    expect(() => new DDPMPipeline({ unet, scheduler: { _class_name: 'NoSuchScheduler' } })).toThrow('unknown scheduler "NoSuchScheduler"');
    expect(() => new DDPMPipeline({ unet: {} as never, scheduler: ddim })).toThrow('DDPMPipeline: unet must be a UNet2DModel');
  });

  test('with a DDIMScheduler it gives DDIMPipeline\'s bytes (one loop), and its own defaults are diffusers\' (1000 steps)', async () => {
    const config = { _class_name: 'DDPMScheduler', variance_type: 'fixed_large', clip_sample: true };
    const viaDdpm = new DDPMPipeline({ unet, scheduler: DDIMScheduler.fromConfig(config) });
    const viaDdim = new DDIMPipeline({ unet, scheduler: config });
    const a = await viaDdpm.generate({ generator: seeded(3), numInferenceSteps: 4, outputType: 'array', batchSize: 2 });
    const b = await viaDdim.generate({ generator: seeded(3), numInferenceSteps: 4, outputType: 'array', batchSize: 2 });
    expect(Buffer.from(a.images.data.buffer).equals(Buffer.from(b.images.data.buffer))).toBe(true);
    expect(viaDdpm.defaultSteps).toBe(1000);
    expect(viaDdim.defaultSteps).toBe(50);
  });

  test('per-sample generators: a batch gives each image the bytes it has alone (the DDPM step draws noise every step)', async () => {
    const pipeline = new DDPMPipeline({ unet, scheduler: DDPMScheduler.fromConfig({ variance_type: 'fixed_large' }) });
    const batch = await pipeline.generate({ generator: [seeded(7), seeded(8), seeded(9)], batchSize: 3, numInferenceSteps: 5, outputType: 'array' });
    const per = batch.images.data.length / 3;
    for (const [i, seed] of [7, 8, 9].entries()) {
      const alone = await pipeline.generate({ generator: [seeded(seed)], numInferenceSteps: 5, outputType: 'array' });
      expect([seed, maxAbsDiff(alone.images.data, batch.images.data.subarray(i * per, (i + 1) * per))]).toEqual([seed, 0]);
    }
    // Chunked forwards (maxBatchPerForward 1) change memory, not bytes.
    const chunked = await pipeline.generate({ generator: [seeded(7), seeded(8), seeded(9)], batchSize: 3, numInferenceSteps: 5, outputType: 'array', maxBatchPerForward: 1 });
    expect(maxAbsDiff(chunked.images.data, batch.images.data)).toBe(0);
  });

  test('fromPretrained: the folder\'s scheduler by default, or options.scheduler; cancellation and tensors as DDIMPipeline', async () => {
    const folder = await DDPMPipeline.fromPretrained(EMBEDDED_MODEL_DIR);
    try {
      expect(folder.scheduler).toBeInstanceOf(DDPMScheduler);
      expect(folder.pipelineName).toBe('DDPMPipeline');
      const before = tf.memory().numTensors;
      await expect(folder.generate({ generator: seeded(0), numInferenceSteps: 6, onStep: ({ step }) => step < 2 })).rejects.toThrow(
        'DDPMPipeline.generate: cancelled after 2 of 6 steps (onStep returned false)',
      );
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      folder.dispose();
    }
    const mine = new DDIMScheduler({ clipSample: false });
    const withMine = await DDPMPipeline.fromPretrained(EMBEDDED_MODEL_DIR, { scheduler: mine });
    expect(withMine.scheduler).toBe(mine);
    withMine.dispose();
    await expect(DDPMPipeline.fromPretrained(EMBEDDED_MODEL_DIR, { scheduler: { beta_end: 1 } as never })).rejects.toThrow(
      'DDPMPipeline.fromPretrained: options.scheduler must be a scheduler instance',
    );
  });
});

describe('loadPipeline', () => {
  test('picks the class model_index.json names (the embedded model: DDIMPipeline), or the one asked for', async () => {
    const byIndex = await loadPipeline(EMBEDDED_MODEL_DIR);
    expect(byIndex).toBeInstanceOf(DDIMPipeline);
    byIndex.dispose();
    const asked = await loadPipeline(EMBEDDED_MODEL_DIR, { pipeline: 'ddpm' });
    expect(asked).toBeInstanceOf(DDPMPipeline);
    expect(asked.scheduler.className).toBe('DDPMScheduler');
    asked.dispose();
  });
});

describe('PNDMPipeline', () => {
  const reference = loadFixture<{ pndm_pipeline: { generator_seed: number; batch_size: number; num_inference_steps: number; images: FixtureArray } }>(
    'scheduler_pipelines.json',
  ).pndm_pipeline;

  if (hasScheduler('PNDMScheduler')) {
    test(`equals diffusers' PNDMPipeline (batch ${reference.batch_size}, ${reference.num_inference_steps} steps, seed ${reference.generator_seed})`, async () => {
      const pipeline = new PNDMPipeline({ unet, scheduler: DDPMScheduler.fromConfig({ variance_type: 'fixed_large' }) });
      expect(pipeline.scheduler.className).toBe('PNDMScheduler');
      expect(pipeline.scheduler.stepTakesGenerator).toBe(false);
      const { images } = await pipeline.generate({
        generator: seeded(reference.generator_seed),
        batchSize: reference.batch_size,
        numInferenceSteps: reference.num_inference_steps,
        outputType: 'array',
      });
      const error = maxAbsDiff(images.data, reference.images.data);
      const backend = activeTestBackend();
      const figure = MEASURED_SCHEDULER_PIPELINE.pndm_pipeline?.[backend];
      if (figure === undefined) throw new Error(`tolerances.ts has no measured figure for pndm_pipeline on ${backend} (measured here: ${error.toExponential(2)})`);
      reportParity('PNDMPipeline', backend, error, MARGIN * figure);
      expect(error).toBeLessThanOrEqual(MARGIN * figure);
    });
  } else {
    test.skip("equals diffusers' PNDMPipeline — not run: PNDMScheduler is not registered in lib/schedulers/all-schedulers.ts", () => {});
    test('without PNDMScheduler registered, says so by name', () => {
      expect(() => new PNDMPipeline({ unet, scheduler: { _class_name: 'DDPMScheduler' } })).toThrow(
        'PNDMPipeline: this build has no PNDMScheduler in lib/schedulers/all-schedulers.ts (registered: DDIMScheduler, DDPMScheduler',
      );
    });
  }
});
