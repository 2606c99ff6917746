import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../../lib/backends/set-backend';
import { loadUNetFromUrl } from '../../../lib/models/unet/load-from-url';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { fixturePath, maxAbsDiff } from '../../helpers/fixtures';
import { startStaticServer, type StaticServer } from '../../helpers/static-server';
import { nchwValues, nhwcFromFixture, tinyFixture } from './unet-fixture';

// loadUNetFromUrl over real HTTP (Node's global fetch against a 127.0.0.1 server), on the tiny fixture UNet saved
// in the tfjs format: the same weights as UNet2DModel.fromPretrained, so the same outputs bit for bit on one backend.
describe('loadUNetFromUrl', () => {
  let tmp: string;
  let server: StaticServer;
  let reference: UNet2DModel;

  beforeAll(async () => {
    await setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-url-'));
    reference = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    await reference.save(path.join(tmp, 'tiny-unet-tfjs'));
    fs.mkdirSync(path.join(tmp, 'not-a-unet'));
    fs.writeFileSync(
      path.join(tmp, 'not-a-unet', 'model.json'),
      JSON.stringify({ modelTopology: {}, weightsManifest: [], format: 'layers-model' }),
    );
    server = await startStaticServer({ '/models/': tmp });
  });

  afterAll(async () => {
    reference?.dispose();
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads a saved UNet that predicts exactly what the original predicts, reporting progress', async () => {
    const progress: number[] = [];
    const unet = await loadUNetFromUrl(`${server.origin}/models/tiny-unet-tfjs/model.json`, {
      onProgress: (f) => progress.push(f),
    });
    expect(unet.countParams()).toBe(tinyFixture().num_parameters);
    expect(unet.config).toEqual(reference.config);
    const c = tinyFixture().cases[0];
    const sample = nhwcFromFixture(c.sample);
    const [a, b] = [unet.predict(sample, c.timestep), reference.predict(sample, c.timestep)];
    // Same weights, same graph, same backend: identical to the last bit.
    expect(maxAbsDiff(await nchwValues(a), await nchwValues(b))).toBe(0);
    expect(progress[progress.length - 1]).toBe(1);
    tf.dispose([sample, a, b]);
    unet.dispose();
  });

  it('names the URL when it cannot be fetched', async () => {
    const url = `${server.origin}/models/missing/model.json`;
    await expect(loadUNetFromUrl(url)).rejects.toThrow(`loadUNetFromUrl: could not load ${url}:`);
  });

  it('refuses a model.json without the diffusers UNet2DModel metadata', async () => {
    const url = `${server.origin}/models/not-a-unet/model.json`;
    await expect(loadUNetFromUrl(url)).rejects.toThrow(
      `loadUNetFromUrl: ${url} has no userDefinedMetadata.diffusers with a UNet2DModel config`,
    );
  });

  it('refuses an empty URL', async () => {
    await expect(loadUNetFromUrl('')).rejects.toThrow('loadUNetFromUrl: modelJsonUrl must be the URL of a model.json, got ""');
  });
});
