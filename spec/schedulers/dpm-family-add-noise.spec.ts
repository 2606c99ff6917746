// add_noise of the DPM-Solver family against diffusers 0.30.3 (spec/fixtures/schedulers_dpm.json, `add_noise`):
// before setTimesteps (diffusers' descending timesteps against the ascending σ table), after setTimesteps (Karras
// too), and with a begin index.
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import { DEISMultistepScheduler } from '../../lib/schedulers/deis-multistep';
import { DPMSolverMultistepScheduler } from '../../lib/schedulers/dpm-solver-multistep';
import { DPMSolverSinglestepScheduler } from '../../lib/schedulers/dpm-solver-singlestep';
import { UniPCMultistepScheduler } from '../../lib/schedulers/unipc-multistep';
import { FixtureArray, loadFixture } from '../helpers/fixtures';
import { caseConfig } from './dpm-fixture';

interface AddNoiseCase {
  scheduler: string;
  config: Record<string, unknown>;
  num_inference_steps: number | null;
  begin_index: number | null;
  timesteps: number[];
  noisy: FixtureArray;
}

const fixture = loadFixture<{ add_noise: { x0_seed: number; noise_seed: number; shape: number[]; cases: AddNoiseCase[] } }>('schedulers_dpm.json').add_noise;

const CLASSES = {
  DPMSolverMultistepScheduler,
  DPMSolverSinglestepScheduler,
  UniPCMultistepScheduler,
  DEISMultistepScheduler,
} as const;

describe('DPM-Solver family addNoise against diffusers (exact)', () => {
  beforeAll(() => setBackend('cpu'));
  test('the fixture covers the four classes', () => expect(new Set(fixture.cases.map((c) => c.scheduler)).size).toBe(4));
  test.each(fixture.cases.map((c) => [`${c.scheduler} ${JSON.stringify(c.config)} n=${c.num_inference_steps} begin=${c.begin_index}`, c]))('%s', (_name, c) => {
    const cls = CLASSES[c.scheduler as keyof typeof CLASSES];
    const s = cls.fromConfig(caseConfig(c), { onWarning: () => {} });
    if (c.num_inference_steps !== null) s.setTimesteps(c.num_inference_steps);
    if (c.begin_index !== null) s.setBeginIndex(c.begin_index);
    const x0 = randnTensor(fixture.shape, { generator: new Generator().manualSeed(fixture.x0_seed) });
    const noise = randnTensor(fixture.shape, { generator: new Generator().manualSeed(fixture.noise_seed) });
    const noisy = s.addNoise(x0, noise, c.timesteps);
    expect(Array.from(noisy.dataSync())).toEqual(c.noisy.data);
    tf.dispose([x0, noise, noisy]);
  });
});
