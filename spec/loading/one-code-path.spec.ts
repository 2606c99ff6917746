import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { EMBEDDED_MODEL } from '../../lib/node/embedded-model';
import { loadUNetFromUrl } from '../../lib/models/unet/load-unet';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { imageAbsSum } from '../../lib/pipelines/image-abs-sum';
import { Generator } from '../../lib/random/generator';
import { ModelFileNotFoundError } from '../../lib/loading/model-source';
import { fixturePath } from '../helpers/fixtures';
import { startStaticServer, type StaticServer } from '../../test-support/static-server';
import { nchwValues, nhwcFromFixture, tinyFixture } from '../models/unet/unet-fixture';

// fromPretrained reads a folder, a file: URL and an http(s) URL through one loader (source -> layout -> reader ->
// UNet2DModel): the same model gives the same outputs to the last bit whichever way it came.

const ROOT = path.join(__dirname, '..', '..');
let server: StaticServer;

beforeAll(async () => {
  await setBackend('wasm');
  server = await startStaticServer({ '/models/': path.join(ROOT, 'models'), '/fixtures/': path.join(ROOT, 'spec', 'fixtures') });
});
afterAll(async () => server?.close());

/** The outputs of two fixture cases, as bytes. */
async function outputsOf(unet: UNet2DModel): Promise<Buffer> {
  const out: Float32Array[] = [];
  for (const c of tinyFixture().cases.slice(0, 2)) {
    const sample = nhwcFromFixture(c.sample);
    const eps = unet.predict(sample, c.timestep);
    out.push(await nchwValues(eps));
    tf.dispose([sample, eps]);
  }
  unet.dispose();
  return Buffer.concat(out.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
}

describe('one code path for every source', () => {
  test('a converted UNet from its folder, a file: URL, an http URL of the folder and of its model.json: bit-identical outputs', async () => {
    const folder = path.join(EMBEDDED_MODEL, 'unet');
    const reference = await outputsOf(await UNet2DModel.fromPretrained(folder));
    const others = [
      await UNet2DModel.fromPretrained(`file://${folder}`),
      await UNet2DModel.fromPretrained(`${server.origin}/models/tiny-random/unet/`),
      await UNet2DModel.fromPretrained(`${server.origin}/models/tiny-random/`),
      await loadUNetFromUrl(`${server.origin}/models/tiny-random/unet/model.json`),
    ];
    for (const unet of others) expect((await outputsOf(unet)).equals(reference)).toBe(true);
  });

  test('a diffusers checkpoint folder over http loads as from disk, bit for bit', async () => {
    const reference = await outputsOf(await UNet2DModel.fromPretrained(fixturePath('tiny-unet')));
    expect((await outputsOf(await UNet2DModel.fromPretrained(`${server.origin}/fixtures/tiny-unet/`))).equals(reference)).toBe(true);
  });

  test('DDIMPipeline.fromPretrained: the embedded model as a folder and as an http URL generate the same images', async () => {
    const images = async (location: string) => {
      const pipeline = await DDIMPipeline.fromPretrained(location);
      const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 2, outputType: 'array' });
      pipeline.dispose();
      return Buffer.from(images.data.buffer);
    };
    expect((await images(`${server.origin}/models/tiny-random/`)).equals(await images(EMBEDDED_MODEL))).toBe(true);
  });
});

describe('locations: a folder is a folder, a path is never a Hub id', () => {
  const noNetwork: typeof fetch = async () => {
    throw new Error('the network must not be asked');
  };

  test('a relative folder that exists is read from the working directory (models/tiny-random from the repository root)', async () => {
    expect(process.cwd()).toBe(ROOT);
    const pipeline = await DDIMPipeline.fromPretrained('models/tiny-random', { fetchImpl: noNetwork });
    pipeline.dispose();
  });

  test('a path that does not exist is "no such folder", without a Hub lookup', async () => {
    for (const location of ['./models/nope', '../nope', 'models/tiny-random/nope', '/no/such/dir', 'file:///no/such/dir']) {
      const expected = location.startsWith('file:') ? '/no/such/dir' : path.resolve(location);
      await expect(DDIMPipeline.fromPretrained(location, { fetchImpl: noNetwork })).rejects.toThrow(new ModelFileNotFoundError(expected, 'no such folder'));
    }
  });
});

describe('EMBEDDED_MODEL from code, from any working directory (built package, child processes)', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'index.mjs'))) throw new Error('dist/ is not built: run `npm run build` before these tests');
  });

  test('CommonJS and ESM load it with DDIMPipeline.fromPretrained(EMBEDDED_MODEL) and get the seed-0 images of this process', async () => {
    const pipeline = await DDIMPipeline.fromPretrained(EMBEDDED_MODEL);
    const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 2, outputType: 'array' });
    pipeline.dispose();
    const expected = imageAbsSum(images);
    const body =
      "await m.setBackend('wasm'); const p = await m.DDIMPipeline.fromPretrained(m.EMBEDDED_MODEL);" +
      "const { images } = await p.generate({ generator: new m.Generator().manualSeed(0), numInferenceSteps: 2, outputType: 'array' });" +
      'console.log(JSON.stringify({ absSum: m.imageAbsSum(images), model: m.EMBEDDED_MODEL }));';
    const cjs = `const m = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))}); (async () => { ${body} })();`;
    const esm = `const m = await import(${JSON.stringify(`file://${path.join(ROOT, 'dist', 'index.mjs')}`)}); ${body}`;
    for (const args of [['-e', cjs], ['--input-type=module', '-e', esm]]) {
      const out = JSON.parse(execFileSync(process.execPath, args, { cwd: '/', encoding: 'utf8', timeout: 120000 }));
      expect(out).toEqual({ absSum: expected, model: path.join(ROOT, 'models', 'tiny-random') });
    }
  });
});
