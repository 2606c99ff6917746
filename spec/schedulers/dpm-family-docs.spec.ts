// The swap idiom of docs/schedulers.md ("Ported schedulers: DPM-Solver family") for the four ports: it finishes,
// leaks no tensor once dispose() ran, evaluates the model n times, and gives a finite sample.
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DEISMultistepScheduler } from '../../lib/schedulers/deis-multistep';
import { DPMSolverMultistepScheduler } from '../../lib/schedulers/dpm-solver-multistep';
import { DPMSolverSinglestepScheduler } from '../../lib/schedulers/dpm-solver-singlestep';
import { UniPCMultistepScheduler } from '../../lib/schedulers/unipc-multistep';
import * as all from '../../lib/schedulers/all-schedulers';
import type { SchedulerClass } from '../../lib/schedulers/scheduler';

/** A stand-in for the UNet: a smooth function of the sample and the timestep. */
const unet = { predict: (x: tf.Tensor, t: number) => tf.mul(x, 0.5 + t / 2000) };

const ddim = new DDIMScheduler();
const swaps = [
  ['DPMSolverMultistepScheduler (Karras)', () => DPMSolverMultistepScheduler.fromConfig({ ...ddim.config, useKarrasSigmas: true })],
  ['DPMSolverMultistepScheduler (sde-dpmsolver++)', () => DPMSolverMultistepScheduler.fromConfig({ ...ddim.config, algorithmType: 'sde-dpmsolver++' })],
  ['UniPCMultistepScheduler', () => UniPCMultistepScheduler.fromConfig(ddim.config, { onWarning: () => {} })],
  ['DPMSolverSinglestepScheduler', () => DPMSolverSinglestepScheduler.fromConfig(ddim.config, { onWarning: () => {} })],
  ['DEISMultistepScheduler', () => DEISMultistepScheduler.fromConfig(ddim.config, { onWarning: () => {} })],
] as const;

describe('docs/schedulers.md: the DPM-Solver family swap idiom', () => {
  beforeAll(() => setBackend('cpu'));

  test.each(swaps)('%s', (_name, make) => {
    const before = tf.memory().numTensors;
    const generator = new Generator().manualSeed(0);
    const dpm = make();
    dpm.setTimesteps(20);
    let evaluations = 0;
    let x = randnTensor([1, 3, 8, 8], { generator });
    for (const t of dpm.timesteps) {
      const eps = tf.tidy(() => unet.predict(x, t));
      evaluations++;
      const { prevSample } = dpm.step(eps, t, x, dpm.stepTakesGenerator ? { generator } : {});
      tf.dispose([x, eps]);
      x = prevSample;
    }
    (dpm as { dispose(): void }).dispose();
    expect(evaluations).toBe(20);
    expect(Array.from(x.dataSync()).every(Number.isFinite)).toBe(true);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('the four are in the list of all schedulers with their diffusers class names and compatibles', () => {
    // The static side satisfies the contract (a type error here otherwise).
    const classes: SchedulerClass[] = [all.DPMSolverMultistepScheduler, all.UniPCMultistepScheduler, all.DPMSolverSinglestepScheduler, all.DEISMultistepScheduler];
    for (const cls of classes) {
      expect(cls.compatibles).toContain('DDPMScheduler');
      expect(cls.compatibles).toContain(cls.className);
      expect(new cls().className).toBe(cls.className);
    }
  });
});
