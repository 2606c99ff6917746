import * as tf from '@tensorflow/tfjs-core';
import { PNDMScheduler } from '../../lib/schedulers/pndm';
import { describeKScheduler } from './k-scheduler-spec';

describeKScheduler({ cls: PNDMScheduler, order: 1, stepTakesGenerator: false });

describe('PNDMScheduler specifics', () => {
  test('PRK: 12 warm-up timesteps (each of the last four spaced timesteps and its midpoint), then PLMS', () => {
    const s = new PNDMScheduler({ stepsOffset: 1 });
    s.setTimesteps(10);
    expect(Array.from(s.timesteps)).toEqual([901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1]);
  });

  test('skipPrkSteps repeats the second timestep (PLMS only)', () => {
    const s = new PNDMScheduler({ skipPrkSteps: true });
    s.setTimesteps(4);
    expect(Array.from(s.timesteps)).toEqual([750, 500, 500, 250, 0]);
  });

  test('PRK needs 4 inference steps at least; a timestep past the table is refused', () => {
    const s = new PNDMScheduler();
    expect(() => s.setTimesteps(3)).toThrow(/numInferenceSteps=3 is too few.*skipPrkSteps/);
    expect(() => new PNDMScheduler({ predictionType: 'sample' as never })).toThrow(/prediction_type|predictionType/);
  });

  test('the multistep history is owned by the scheduler and released by dispose', () => {
    const s = new PNDMScheduler();
    s.setTimesteps(10);
    const x = tf.zeros([1, 3, 4, 4]);
    const before = tf.memory().numTensors;
    for (let k = 0; k < 13; k++) {
      const out = s.step(x, s.timesteps[k], x);
      out.prevSample.dispose();
    }
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
