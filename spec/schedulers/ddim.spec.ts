import * as tf from '@tensorflow/tfjs-core';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { describeEachBackend } from '../helpers/backends';
import { ddimCases, relativeError, schedulerFixture, STEP_RELATIVE_TOLERANCE, toTensor } from './scheduler-fixture';

function schedulerFor(c: { config_overrides: Record<string, unknown>; num_inference_steps: number }): DDIMScheduler {
  const s = DDIMScheduler.fromConfig({ ...schedulerFixture().scheduler_config, ...c.config_overrides }, { onWarning: () => {} });
  s.setTimesteps(c.num_inference_steps);
  return s;
}

describeEachBackend('DDIMScheduler against diffusers', () => {
  const worst = { prev: 0, x0: 0 };
  afterAll(() => console.log(`worst relative error: prev_sample ${worst.prev}, pred_original_sample ${worst.x0}`));
  for (const c of ddimCases()) {
    test(`${c.id}`, async () => {
      const s = schedulerFor(c);
      const [mo, x, vn] = [toTensor(c.model_output), toTensor(c.sample), c.variance_noise ? toTensor(c.variance_noise) : undefined];
      const out = s.step(mo, c.timestep, x, { eta: c.eta, useClippedModelOutput: c.use_clipped_model_output, varianceNoise: vn });
      const ePrev = relativeError(await out.prevSample.data(), c.prev_sample);
      const eX0 = relativeError(await out.predOriginalSample.data(), c.pred_original_sample);
      worst.prev = Math.max(worst.prev, ePrev);
      worst.x0 = Math.max(worst.x0, eX0);
      tf.dispose([mo, x, vn, out.prevSample, out.predOriginalSample]);
      expect(ePrev).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
      expect(eX0).toBeLessThanOrEqual(STEP_RELATIVE_TOLERANCE);
    });
  }
});
