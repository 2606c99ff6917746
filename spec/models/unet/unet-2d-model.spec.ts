import * as tf from '@tensorflow/tfjs-core';
import { describeEachBackend } from '../../helpers/backends';
import { fixturePath, maxAbsDiff } from '../../helpers/fixtures';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { nchwValues, nhwcFromFixture, tinyFixture } from './unet-fixture';

// Forward parity against PyTorch float32. torch's own float32 result moves by ~1e-6 against float64
// (spec/fixtures/tolerance.json, unet_forward_float32_vs_float64: max 1.1e-6 on outputs of magnitude ~2.4);
// the acceptance bound for a float32 port with other summation orders is 1e-4 max abs.
const FORWARD_TOLERANCE = 1e-4;

describeEachBackend('UNet2DModel tiny forward parity', () => {
  const fixture = tinyFixture();
  let unet: UNet2DModel;
  const worst: Record<string, number> = {};

  beforeAll(async () => {
    unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
  });
  afterAll(() => {
    unet?.dispose();
    // eslint-disable-next-line no-console
    console.log(`worst max abs diff per case (${tf.getBackend()}):`, worst);
  });

  test('has the parameter count of the fixture', () => {
    expect(unet.countParams()).toBe(fixture.num_parameters);
  });

  for (const c of tinyFixture().cases) {
    test(`${c.id}: t=${JSON.stringify(c.timestep)} within ${FORWARD_TOLERANCE}`, async () => {
      const sample = nhwcFromFixture(c.sample);
      const out = unet.predict(sample, c.timestep);
      expect(out.shape).toEqual([c.sample.shape[0], c.sample.shape[2], c.sample.shape[3], c.sample.shape[1]]);
      const diff = maxAbsDiff(await nchwValues(out), c.output.data);
      worst[c.id] = diff;
      tf.dispose([sample, out]);
      expect(diff).toBeLessThan(FORWARD_TOLERANCE);
    });
  }
});
