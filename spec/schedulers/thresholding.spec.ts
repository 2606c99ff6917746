import * as tf from '@tensorflow/tfjs-core';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { dynamicThresholds, quantilePosition, thresholdSample } from '../../lib/schedulers/thresholding';
import { describeEachBackend } from '../helpers/backends';
import { quantileLinear } from './reference-step';
import { ddimCases, schedulerFixture, toTensor } from './scheduler-fixture';

test('quantilePosition follows torch.quantile: rank = float32(q) · (n − 1) in float32', () => {
  const rank = Math.fround(Math.fround(0.995) * 191);
  expect(quantilePosition(192, 0.995)).toEqual({ below: 190, above: 191, weight: Math.fround(rank - 190) });
  expect(quantilePosition(5, 0.5)).toEqual({ below: 2, above: 2, weight: 0 });
  expect(quantilePosition(1, 1)).toEqual({ below: 0, above: 0, weight: 0 });
  expect(() => quantilePosition(4, 1.5)).toThrow('q=1.5');
  expect(() => quantilePosition(0, 0.5)).toThrow('n=0');
});

describeEachBackend('dynamic thresholding', () => {
  const thresholdCases = ddimCases().filter((c) => c.intermediates.threshold_s_per_batch !== null);

  test.each(thresholdCases.map((c) => [c.id, c]))('%s: s per sample equals diffusers (exact)', async (_id, c) => {
    // x₀ before thresholding: the same step with thresholding and clipping off.
    const plain = DDIMScheduler.fromConfig({
      ...schedulerFixture().scheduler_config,
      clip_sample: false,
      prediction_type: (c.config_overrides.prediction_type as string) ?? 'epsilon',
    });
    plain.setTimesteps(c.num_inference_steps);
    const [mo, x] = [toTensor(c.model_output), toTensor(c.sample)];
    const { prevSample, predOriginalSample } = plain.step(mo, c.timestep, x);
    const s = dynamicThresholds(
      predOriginalSample,
      c.config_overrides.dynamic_thresholding_ratio as number,
      c.config_overrides.sample_max_value as number,
    );
    expect(Array.from(await s.data())).toEqual(c.intermediates.threshold_s_per_batch);
    tf.dispose([mo, x, prevSample, predOriginalSample, s]);
  });

  test('s is the linear-interpolated quantile of |x| per sample, clamped to [1, sampleMaxValue]', async () => {
    const values = Array.from({ length: 2 * 50 }, (_, i) => Math.sin(i * 1.7) * (i < 50 ? 3 : 0.5));
    const x = tf.tensor(values, [2, 5, 10]);
    for (const [ratio, maxValue] of [[0.9, 10], [0.5, 2], [0.995, 1.5], [1, 10]]) {
      const s = await dynamicThresholds(x, ratio, maxValue).data();
      for (let b = 0; b < 2; b++) {
        const q = quantileLinear(values.slice(b * 50, (b + 1) * 50).map(Math.abs), ratio);
        // float32 interpolation vs float64: within a few float32 ulps of values ≤ 3
        expect(Math.abs(s[b] - Math.min(Math.max(q, 1), maxValue))).toBeLessThan(1e-6);
      }
    }
    x.dispose();
  });

  test('sampleMaxValue < 1 wins over the floor of 1, as torch.clamp(min=1, max=v) does', async () => {
    const x = tf.tensor([[4, -4, 0.1, 0.2]]);
    expect(Array.from(await dynamicThresholds(x, 0.5, 0.5).data())).toEqual([0.5]);
    x.dispose();
  });

  test('thresholding reduces per sample over all other dims: NHWC gives the NCHW result transposed', async () => {
    const c = thresholdCases[thresholdCases.length - 1];
    const xNCHW = toTensor(c.sample);
    const xNHWC = tf.transpose(xNCHW, [0, 2, 3, 1]);
    const a = thresholdSample(xNCHW, 0.9, 3);
    const b = thresholdSample(xNHWC, 0.9, 3);
    const aT = tf.transpose(a, [0, 2, 3, 1]);
    expect(Array.from(await b.data())).toEqual(Array.from(await aT.data()));
    tf.dispose([xNCHW, xNHWC, a, b, aT]);
  });

  test('no tensors leak', () => {
    const x = tf.randomNormal([2, 3, 4, 4]);
    const before = tf.memory().numTensors;
    tf.dispose([thresholdSample(x, 0.995, 2), dynamicThresholds(x, 0.9, 2)]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
