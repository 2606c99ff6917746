// The worked example of docs/schedulers.md, verbatim except for the import paths: keeps the docs' numbers honest.
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { DDIMScheduler } from '../../lib/schedulers/ddim';

const config = {
  _class_name: 'DDPMScheduler', num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02,
  beta_schedule: 'linear', trained_betas: null, variance_type: 'fixed_large', clip_sample: true,
};

describe('DDIM step at t = 100 of 10 steps', () => {
  beforeAll(() => setBackend('cpu'));

  test('matches diffusers', async () => {
    const scheduler = DDIMScheduler.fromConfig(config);
    scheduler.setTimesteps(10);
    expect(Array.from(scheduler.timesteps)).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    expect(scheduler.stepCoefficients(100)).toMatchObject({
      prevTimestep: 0, alphaProdT: 0.8951413631439209, alphaProdTPrev: 0.9998999834060669,
    });

    const sample = tf.tensor([0.5, -0.25, 0.75, 0.0], [1, 1, 2, 2]);
    const modelOutput = tf.tensor([0.1, 0.3, -0.2, 0.4], [1, 1, 2, 2]);
    const noise = tf.tensor([1, -1, 0.5, 2], [1, 1, 2, 2]);
    const before = tf.memory().numTensors;

    const { prevSample, predOriginalSample } = scheduler.step(modelOutput, 100, sample);
    // cpu and wasm reproduce torch's float32 bits; on webgl/webgpu compare with a tolerance instead
    // (e.g. 2e-6 × the largest magnitude: a few float32 roundings).
    expect(Array.from(await prevSample.data())).toEqual(
      [0.4952240288257599, -0.36389675736427307, 0.859120786190033, -0.13289687037467957]);
    expect(Array.from(await predOriginalSample.data())).toEqual(
      [0.4942486584186554, -0.36691537499427795, 0.8611640334129333, -0.1369040459394455]);

    const noisy = scheduler.step(modelOutput, 100, sample, { eta: 1, varianceNoise: noise });
    expect((await noisy.prevSample.data())[0]).toBe(0.5042497515678406);

    tf.dispose([prevSample, predOriginalSample, noisy.prevSample, noisy.predOriginalSample]);
    expect(tf.memory().numTensors).toBe(before);  // the step leaks nothing
    tf.dispose([sample, modelOutput, noise]);
  });
});
