import * as tf from '@tensorflow/tfjs-core';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';
import { describeEachBackend } from '../helpers/backends';

// diffusers users pass `timesteps` to add_noise / get_velocity as a tensor (torch.randint(..., (batch,))): the same
// values as a tfjs Tensor1D (int32 or float32) or scalar must give exactly what the number list gives.
describeEachBackend('addNoise / getVelocity with tensor timesteps', () => {
  for (const Scheduler of [DDIMScheduler, DDPMScheduler]) {
    test(`${Scheduler.name}: a Tensor1D (int32, float32) or a scalar tensor equals the number list, bit for bit`, async () => {
      const s = new Scheduler();
      const x = tf.randomNormal([3, 2, 2, 3], 0, 1, 'float32', 1);
      const noise = tf.randomNormal([3, 2, 2, 3], 0, 1, 'float32', 2);
      const list = [10, 500, 990];
      const int32 = tf.tensor1d(list, 'int32');
      const float32 = tf.tensor1d(list, 'float32');
      const scalar = tf.scalar(500, 'int32');
      const before = tf.memory().numTensors;
      const results: tf.Tensor[] = [];
      const read = (t: tf.Tensor): Promise<tf.TypedArray> => {
        results.push(t);
        return t.data();
      };
      const expected = [await read(s.addNoise(x, noise, list)), await read(s.getVelocity(x, noise, list))];
      for (const timesteps of [int32, float32]) {
        expect(await read(s.addNoise(x, noise, timesteps))).toEqual(expected[0]);
        expect(await read(s.getVelocity(x, noise, timesteps))).toEqual(expected[1]);
      }
      expect(await read(s.addNoise(x, noise, scalar))).toEqual(await read(s.addNoise(x, noise, 500)));
      // Only the results are new (no intermediate left behind) and the timestep tensors are not consumed.
      expect(tf.memory().numTensors).toBe(before + results.length);
      expect(int32.isDisposed || float32.isDisposed || scalar.isDisposed).toBe(false);
      tf.dispose([...results, x, noise, int32, float32, scalar]);
    });
  }

  test('a timesteps tensor of rank 2, or of the wrong length, is refused with its shape', () => {
    const s = new DDIMScheduler();
    const x = tf.zeros([2, 1, 1, 1]);
    const rank2 = tf.tensor2d([[1, 2]], [1, 2], 'int32');
    const three = tf.tensor1d([1, 2, 3], 'int32');
    expect(() => s.addNoise(x, x, rank2 as unknown as tf.Tensor1D)).toThrow(
      'DDIMScheduler.addNoise: timesteps must be a number, a list or a Tensor1D; got a tensor of shape [1, 2]',
    );
    expect(() => s.getVelocity(x, x, three)).toThrow('DDIMScheduler.getVelocity: got 3 timesteps for a batch of 2; give 1 or 2');
    tf.dispose([x, rank2, three]);
  });
});
