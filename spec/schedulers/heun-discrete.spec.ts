import * as tf from '@tensorflow/tfjs-core';
import { HeunDiscreteScheduler } from '../../lib/schedulers/heun-discrete';
import { describeKScheduler } from './k-scheduler-spec';

describeKScheduler({ cls: HeunDiscreteScheduler, order: 2, stepTakesGenerator: false, sigmasOf: (s) => s.sigmas });

describe('HeunDiscreteScheduler specifics', () => {
  test('two evaluations per interval: 2n − 1 timesteps, the predictor/corrector state alternates and is freed', () => {
    const s = new HeunDiscreteScheduler();
    s.setTimesteps(3);
    expect(s.timesteps.length).toBe(5);
    expect(s.timesteps[1]).toBe(s.timesteps[2]);
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

  test("Karras timesteps stay float64 as diffusers keeps them; the 'exp' beta schedule", () => {
    const s = new HeunDiscreteScheduler({ useKarrasSigmas: true });
    s.setTimesteps(4);
    expect(s.timesteps).toBeInstanceOf(Float64Array);
    expect(new HeunDiscreteScheduler({ betaSchedule: 'exp' }).betas[0]).toBeGreaterThan(0);
  });
});
