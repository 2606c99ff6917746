import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '../../lib/random/generator';
import { KDPM2AncestralDiscreteScheduler } from '../../lib/schedulers/kdpm2-ancestral-discrete';
import { describeKScheduler } from './k-scheduler-spec';

describeKScheduler({
  cls: KDPM2AncestralDiscreteScheduler,
  order: 2,
  stepTakesGenerator: true,
  sigmasOf: (s) => s.sigmas,
  nhwcCases: ['kdpm2_a_eps', 'kdpm2_a_v_karras'],
});

describe('KDPM2AncestralDiscreteScheduler specifics', () => {
  test('noise is drawn at both evaluations (the generator advances each step); the kept sample is freed', () => {
    const s = new KDPM2AncestralDiscreteScheduler();
    s.setTimesteps(3);
    const x = tf.ones([1, 2, 2, 2]);
    const generator = new Generator().manualSeed(3);
    const before = tf.memory().numTensors;
    for (const t of Array.from(s.timesteps)) {
      const state = JSON.stringify(generator.getState());
      s.step(x, t, x, { generator }).prevSample.dispose();
      expect(JSON.stringify(generator.getState())).not.toBe(state);
    }
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  test("prediction_type 'sample' is refused when the config is read (diffusers raises NotImplementedError in step)", () => {
    expect(() => KDPM2AncestralDiscreteScheduler.fromConfig({ prediction_type: 'sample' })).toThrow(/sample/);
  });
});
