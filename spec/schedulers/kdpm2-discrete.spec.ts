import * as tf from '@tensorflow/tfjs-core';
import { KDPM2DiscreteScheduler } from '../../lib/schedulers/kdpm2-discrete';
import { describeKScheduler } from './k-scheduler-spec';

describeKScheduler({ cls: KDPM2DiscreteScheduler, order: 2, stepTakesGenerator: false, sigmasOf: (s) => s.sigmas });

describe('KDPM2DiscreteScheduler specifics', () => {
  test('two evaluations per interval; the kept sample is freed', () => {
    const s = new KDPM2DiscreteScheduler();
    s.setTimesteps(3);
    expect(s.timesteps.length).toBe(5);
    const x = tf.ones([1, 2, 2, 2]);
    const before = tf.memory().numTensors;
    const states: boolean[] = [];
    for (const t of Array.from(s.timesteps)) {
      states.push(s.stateInFirstOrder);
      s.step(x, t, x).prevSample.dispose();
    }
    expect(states).toEqual([true, false, true, false, true]);
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  test("prediction_type 'sample' is refused when the config is read (diffusers raises NotImplementedError in step)", () => {
    expect(() => KDPM2DiscreteScheduler.fromConfig({ prediction_type: 'sample' })).toThrow(/sample/);
  });
});
