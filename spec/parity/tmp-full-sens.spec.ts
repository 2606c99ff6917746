import * as tf from '@tensorflow/tfjs-core';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { describeEachBackend } from '../helpers/backends';
import { loadFixture, maxAbsDiff } from '../helpers/fixtures';
import { recipeStateDict } from '../helpers/recipe-weights';
import { nchwValues, nhwcFromFixture } from '../models/unet/unet-fixture';
const fixture = loadFixture<any>('unet_full.json');
describeEachBackend('tmp', (_t, backend) => {
  test('eps', async () => {
    if (backend === 'cpu') return;
    const weights = recipeStateDict(fixture.state_dict_keys, fixture.weights_seed);
    for (const eps of [1e-6, 3e-6, 1e-5]) {
      const unet = UNet2DModel.fromConfig({ ...fixture.config, norm_eps: eps });
      unet.loadStateDict(weights, 'w');
      const errs = [];
      for (const c of fixture.cases) {
        const s = nhwcFromFixture(c.sample); const o = unet.predict(s, c.timestep);
        errs.push(maxAbsDiff(await nchwValues(o), c.output.data).toExponential(2)); tf.dispose([s, o]);
      }
      console.log(`SENS ${backend} eps ${eps}: ${errs.join(' ')}`);
      unet.dispose();
    }
  });
});
