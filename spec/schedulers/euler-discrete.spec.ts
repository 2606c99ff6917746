import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '../../lib/random/generator';
import { EulerDiscreteScheduler } from '../../lib/schedulers/euler-discrete';
import { describeKScheduler } from './k-scheduler-spec';

describeKScheduler({
  cls: EulerDiscreteScheduler,
  order: 1,
  stepTakesGenerator: true,
  sigmasOf: (s) => s.sigmas,
  nhwcCases: ['euler_churn', 'euler_v_leading'],
});

describe('EulerDiscreteScheduler specifics', () => {
  test('the step draws from the generator at every step, as diffusers (also without churn)', () => {
    const s = new EulerDiscreteScheduler();
    s.setTimesteps(4);
    const x = tf.zeros([1, 2, 2, 2]);
    const generator = new Generator().manualSeed(1);
    const before = JSON.stringify(generator.getState());
    const out = s.step(x, s.timesteps[0], x, { generator });
    expect(JSON.stringify(generator.getState())).not.toBe(before);
    tf.dispose([x, out.prevSample, out.predOriginalSample as tf.Tensor]);
  });

  test('churn options are checked; a timestep not in the schedule names it', () => {
    const s = new EulerDiscreteScheduler();
    s.setTimesteps(4);
    const x = tf.zeros([1, 2, 2, 2]);
    expect(() => s.step(x, s.timesteps[0], x, { sChurn: -1 })).toThrow(/sChurn=-1/);
    expect(() => s.step(x, 123.5, x)).toThrow(/timestep=123.5 is not one of scheduler.timesteps/);
    expect(() => s.scaleModelInput(x, 7)).toThrow(/timestep=7/);
    x.dispose();
  });
});
