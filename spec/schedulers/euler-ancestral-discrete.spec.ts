import * as tf from '@tensorflow/tfjs-core';
import { EulerAncestralDiscreteScheduler } from '../../lib/schedulers/euler-ancestral-discrete';
import { describeKScheduler } from './k-scheduler-spec';

describeKScheduler({
  cls: EulerAncestralDiscreteScheduler,
  order: 1,
  stepTakesGenerator: true,
  sigmasOf: (s) => s.sigmas,
  nhwcCases: ['euler_a_eps', 'euler_a_trailing_sd'],
});

describe('EulerAncestralDiscreteScheduler specifics', () => {
  test("prediction_type 'sample' is refused when the config is read (diffusers raises NotImplementedError in step)", () => {
    expect(() => EulerAncestralDiscreteScheduler.fromConfig({ prediction_type: 'sample' })).toThrow(/prediction_type="sample"|prediction_type='sample'|sample/);
  });

  test('varianceNoise replaces the generator; both at once is refused', () => {
    const s = new EulerAncestralDiscreteScheduler();
    s.setTimesteps(4);
    const x = tf.ones([1, 2, 2, 2]);
    const noise = tf.zeros([1, 2, 2, 2]);
    const out = s.step(x, s.timesteps[0], x, { varianceNoise: noise });
    // With zero noise the step is the deterministic Euler step to σ_down.
    const [s0, s1] = [s.sigmas[0], s.sigmas[1]];
    const up = Math.sqrt((s1 * s1 * (s0 * s0 - s1 * s1)) / (s0 * s0));
    const down = Math.sqrt(s1 * s1 - up * up);
    expect(out.prevSample.dataSync()[0]).toBeCloseTo(1 + (down - s0), 3);
    expect(() => s.step(x, s.timesteps[1], x, { varianceNoise: noise, generator: {} as never })).toThrow(/either generator or varianceNoise/);
    tf.dispose([x, noise, out.prevSample, out.predOriginalSample as tf.Tensor]);
  });
});
