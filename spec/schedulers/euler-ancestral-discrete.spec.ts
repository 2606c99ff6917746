import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
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

describe('EulerAncestralDiscreteScheduler with one generator per sample', () => {
  test('a batch of 2 with generators [g0, g1] equals the two single-sample runs (batch invariance)', () => {
    const run = (seeds: number[]): Float32Array => {
      const s = new EulerAncestralDiscreteScheduler();
      s.setTimesteps(4);
      const generators = seeds.map((seed) => new Generator().manualSeed(seed));
      let x = tf.tidy(() => tf.concat(seeds.map((seed) => tf.mul(randnTensor([1, 3, 4, 4], { generator: new Generator().manualSeed(100 + seed) }), s.initNoiseSigma))));
      for (const t of Array.from(s.timesteps)) {
        const eps = tf.tidy(() => tf.mul(s.scaleModelInput(x, t), 0.1));
        const out = s.step(eps, t, x, { generator: generators.length === 1 ? generators[0] : generators });
        tf.dispose([x, eps, out.predOriginalSample as tf.Tensor]);
        x = out.prevSample;
      }
      const values = x.dataSync() as Float32Array;
      x.dispose();
      return values;
    };
    const batch = run([1, 2]);
    const single = [...run([1]), ...run([2])];
    expect(Array.from(batch)).toEqual(single);
  });
});
