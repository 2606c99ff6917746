// The record a page writes (runProvenance) has the CLI's fields, the kernel path of the backend table, and this
// package's version (LIBRARY_VERSION, which a page cannot read from package.json: it must equal package.json's).
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { LIBRARY_VERSION } from '../../lib/pipelines/library-version';
import { pipelineContentHash } from '../../lib/pipelines/pipeline-content-hash';
import { runProvenance } from '../../lib/pipelines/run-provenance';
import { EMBEDDED_MODEL_NAME } from '../../lib/pipelines/image-provenance';

const ROOT = path.join(__dirname, '..', '..');

test("LIBRARY_VERSION is package.json's name@version", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(LIBRARY_VERSION).toBe(`${pkg.name}@${pkg.version}`);
});

describe('runProvenance', () => {
  let pipeline: DDIMPipeline;
  beforeAll(async () => {
    await setBackend('cpu');
    pipeline = await DDIMPipeline.fromPretrained(path.join(ROOT, 'models', 'tiny-random'));
  });
  afterAll(() => pipeline.dispose());

  test("the CLI's fields: the pipeline's scheduler config, its content hash, the backend table's kernel path", async () => {
    const fields = await runProvenance(pipeline, { seed: 3n, steps: 2, eta: 0, batch: 1, model: EMBEDDED_MODEL_NAME });
    expect(fields).toEqual({
      seed: '3',
      steps: 2,
      eta: 0,
      batch: 1,
      pipeline: 'DDIMPipeline',
      scheduler: pipeline.scheduler.toDiffusersConfig(),
      model: 'embedded:tiny-random',
      modelHash: await pipelineContentHash(pipeline),
      library: LIBRARY_VERSION,
      backend: tf.getBackend(),
      kernelPath: 'cpu',
      cpuIsa: expect.stringMatching(/^unknown \(/),
    });
    const given = await runProvenance(pipeline, { seed: '7', steps: 1, eta: 1, batch: 2, model: 'https://example.com/m/', backend: 'webgl', modelHash: 'sha256:given' });
    expect(given).toMatchObject({ seed: '7', backend: 'webgl', kernelPath: 'webgl', modelHash: 'sha256:given' });
  });

  test('bad settings are RangeErrors naming the value', async () => {
    const run = { seed: 0, steps: 1, eta: 0, batch: 1, model: 'm' };
    await expect(runProvenance(pipeline, { ...run, seed: -1 })).rejects.toThrow('runProvenance: seed must be an integer in [0, 2^64), got -1');
    await expect(runProvenance(pipeline, { ...run, seed: 'x' })).rejects.toThrow('got x');
    await expect(runProvenance(pipeline, { ...run, seed: 2n ** 64n })).rejects.toThrow(RangeError);
    await expect(runProvenance(pipeline, { ...run, steps: 0 })).rejects.toThrow('runProvenance: steps must be a positive integer, got 0');
    await expect(runProvenance(pipeline, { ...run, batch: 1.5 })).rejects.toThrow('batch must be a positive integer, got 1.5');
    await expect(runProvenance(pipeline, { ...run, eta: Number.NaN })).rejects.toThrow('eta must be a finite number >= 0, got NaN');
  });
});
