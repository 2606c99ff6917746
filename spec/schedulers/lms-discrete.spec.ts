import * as tf from '@tensorflow/tfjs-core';
import { LMSDiscreteScheduler } from '../../lib/schedulers/lms-discrete';
import { describeKScheduler } from './k-scheduler-spec';

describeKScheduler({ cls: LMSDiscreteScheduler, order: 1, stepTakesGenerator: false, sigmasOf: (s) => s.sigmas });

describe('LMSDiscreteScheduler specifics', () => {
  test('keeps at most `order` derivatives and frees them; a bad order names it', () => {
    const s = new LMSDiscreteScheduler();
    s.setTimesteps(6);
    const x = tf.ones([1, 2, 2, 2]);
    const before = tf.memory().numTensors;
    for (const t of Array.from(s.timesteps)) {
      const out = s.step(x, t, x, { order: 2 });
      tf.dispose([out.prevSample, out.predOriginalSample as tf.Tensor]);
    }
    expect(tf.memory().numTensors).toBe(before + 2);
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
    s.setTimesteps(6);
    expect(() => s.step(x, s.timesteps[0], x, { order: 0 })).toThrow(/order=0/);
    x.dispose();
  });
});
