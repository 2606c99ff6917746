// The swap idiom of docs/schedulers.md ("Ported schedulers: PNDM and the k-diffusion family"), verbatim except for
// a stand-in UNet and Array.from (the contract types `timesteps` as ArrayLike, not Iterable), run for each ported
// scheduler: the loop finishes, leaks nothing, and takes the number of model
// evaluations the docs' table states.
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { EulerAncestralDiscreteScheduler } from '../../lib/schedulers/euler-ancestral-discrete';
import { EulerDiscreteScheduler } from '../../lib/schedulers/euler-discrete';
import { HeunDiscreteScheduler } from '../../lib/schedulers/heun-discrete';
import { KDPM2AncestralDiscreteScheduler } from '../../lib/schedulers/kdpm2-ancestral-discrete';
import { KDPM2DiscreteScheduler } from '../../lib/schedulers/kdpm2-discrete';
import { LMSDiscreteScheduler } from '../../lib/schedulers/lms-discrete';
import { PNDMScheduler } from '../../lib/schedulers/pndm';
import type { Scheduler, SchedulerClass } from '../../lib/schedulers/scheduler';

/** A stand-in UNet: a fixed linear map of its input, so ε stays bounded. */
const unet = { predict: (x: tf.Tensor, _t: number): tf.Tensor => tf.mul(x, 0.1) };

const n = 8;
const classes: Array<[SchedulerClass, number]> = [
  [PNDMScheduler, n + 9],
  [EulerDiscreteScheduler, n],
  [EulerAncestralDiscreteScheduler, n],
  [HeunDiscreteScheduler, 2 * n - 1],
  [LMSDiscreteScheduler, n],
  [KDPM2DiscreteScheduler, 2 * n - 1],
  [KDPM2AncestralDiscreteScheduler, 2 * n - 1],
];

describe('the swap idiom of docs/schedulers.md', () => {
  beforeAll(() => setBackend('cpu'));

  test.each(classes.map(([cls, evaluations]) => [cls.className, cls, evaluations] as const))(
    '%s from DDIMScheduler.config',
    (_name, cls, evaluations) => {
      const ddim = new DDIMScheduler();
      const generator = new Generator().manualSeed(0);
      const before = tf.memory().numTensors;
      const euler: Scheduler = cls.fromConfig(ddim.config, { onWarning: () => undefined });
      euler.setTimesteps(n);
      let x = tf.tidy(() => tf.mul(randnTensor([1, 3, 4, 4], { generator }), euler.initNoiseSigma));
      let calls = 0;
      for (const t of Array.from(euler.timesteps)) {
        const eps = tf.tidy(() => unet.predict(euler.scaleModelInput(x, t), t));
        calls++;
        const { prevSample, predOriginalSample } = euler.step(eps, t, x, euler.stepTakesGenerator ? { generator } : {});
        tf.dispose([x, eps, predOriginalSample]);
        x = prevSample;
      }
      expect(calls).toBe(evaluations);
      expect(Array.from(x.dataSync()).every(Number.isFinite)).toBe(true);
      x.dispose();
      (euler as { dispose?: () => void }).dispose?.();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});
