// The child side of the config specs (run by spec/helpers/run-isolated.ts with a heap limit, an address-space limit
// and a timeout): hostile configs through the public loaders, and the fuzzing runs.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as fs from 'fs';
// What the Node entry registers on import (the disk loaders behind fromPretrained), without the rest of the entry.
import '../../lib/node/register-node-loaders';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';
import { isolatedMain } from '../helpers/run-isolated';
import { fuzzSchedulerConfigs, fuzzUNetConfigs } from './config-fuzz';

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));
const quiet = { onWarning: () => {} };

isolatedMain({
  // Each arg: a JSON file written by the test.
  'unet-from-config': (files) =>
    files.map((file) => async () => {
      await tf.setBackend('cpu');
      const unet = UNet2DModel.fromConfig(readJson(file) as Record<string, unknown>);
      const params = unet.countParams();
      unet.dispose();
      return params;
    }),
  // Each arg: a folder (a diffusers model folder, or a converted tfjs folder).
  'unet-from-pretrained': (dirs) =>
    dirs.map((dir) => async () => {
      await tf.setBackend('cpu');
      const unet = await UNet2DModel.fromPretrained(dir);
      unet.dispose();
      return 'loaded';
    }),
  'ddim-from-config': (files) => files.map((file) => () => DDIMScheduler.fromConfig(readJson(file), { ...quiet, source: file }).config.numTrainTimesteps),
  'ddpm-from-config': (files) => files.map((file) => () => DDPMScheduler.fromConfig(readJson(file), { ...quiet, source: file }).config.numTrainTimesteps),
  // [runs, seed]
  'fuzz-unet': ([runs, seed]) => [() => fuzzUNetConfigs(Number(runs), Number(seed))],
  'fuzz-scheduler': ([runs, seed]) => [() => fuzzSchedulerConfigs(Number(runs), Number(seed))],
});
