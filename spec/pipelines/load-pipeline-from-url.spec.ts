import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { setBackend } from '../../lib/node/backends/set-backend';
import { activeTestBackend, tinyPipelineBound } from '../helpers/tolerances';
import { loadPipelineFromUrl, resolvePipelineUrls } from '../../lib/pipelines/load-pipeline-from-url';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../../lib/schedulers/ddpm-cifar10-32';
import { Generator } from '../../lib/random/generator';
import { ModelJsonError, ModelSourceError } from '../../lib/loading/model-source';
import { ModelLayoutError } from '../../lib/loading/pipeline-layout';
import { loadFixture, maxAbsDiff } from '../helpers/fixtures';
import { startStaticServer, type StaticServer } from '../../test-support/static-server';

const MODELS_DIR = path.join(__dirname, '..', '..', 'models');

// loadPipelineFromUrl over real HTTP (Node's fetch, 127.0.0.1) on the embedded models/tiny-random: the pipeline it
// builds must be the one DDIMPipeline.fromPretrained builds from the same folder on disk.
describe('loadPipelineFromUrl', () => {
  let server: StaticServer;
  let tmp: string;

  beforeAll(async () => {
    await setBackend('wasm');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-pipeline-url-'));
    fs.mkdirSync(path.join(tmp, 'vae-pipeline'));
    fs.writeFileSync(path.join(tmp, 'vae-pipeline', 'model_index.json'), JSON.stringify({ unet: ['diffusers', 'UNet2DConditionModel'] }));
    fs.mkdirSync(path.join(tmp, 'bad-scheduler'));
    fs.writeFileSync(path.join(tmp, 'bad-scheduler', 'scheduler_config.json'), '[1, 2]');
    // The flat layout: a converted UNet with the (bad) scheduler config beside it.
    for (const f of fs.readdirSync(path.join(MODELS_DIR, 'tiny-random', 'unet'))) {
      fs.copyFileSync(path.join(MODELS_DIR, 'tiny-random', 'unet', f), path.join(tmp, 'bad-scheduler', f));
    }
    server = await startStaticServer({ '/models/': MODELS_DIR, '/other/': tmp });
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the parts of a converted pipeline folder, with or without the trailing slash', async () => {
    const scheduler = JSON.parse(fs.readFileSync(path.join(MODELS_DIR, 'tiny-random', 'scheduler', 'scheduler_config.json'), 'utf8'));
    for (const url of [`${server.origin}/models/tiny-random`, `${server.origin}/models/tiny-random/`]) {
      await expect(resolvePipelineUrls(url)).resolves.toEqual({
        unetModelJsonUrl: `${server.origin}/models/tiny-random/unet/model.json`,
        schedulerConfig: scheduler,
        schedulerConfigUrl: `${server.origin}/models/tiny-random/scheduler/scheduler_config.json`,
      });
    }
  });

  it("gives a bare UNet model.json google/ddpm-cifar10-32's scheduler", async () => {
    const url = `${server.origin}/models/tiny-random/unet/model.json`;
    const found = await resolvePipelineUrls(url);
    expect(found).toEqual({ unetModelJsonUrl: url, schedulerConfig: { ...DDPM_CIFAR10_SCHEDULER_CONFIG }, schedulerConfigUrl: null });
  });

  it('generates exactly what DDIMPipeline.fromPretrained generates from the same folder on disk', async () => {
    const fromUrl = await loadPipelineFromUrl(`${server.origin}/models/tiny-random/`);
    const fromDisk = await DDIMPipeline.fromPretrained(path.join(MODELS_DIR, 'tiny-random'));
    const settings = { numInferenceSteps: 2, eta: 1, outputType: 'array' as const };
    const a = await fromUrl.generate({ ...settings, generator: new Generator().manualSeed(0) });
    const b = await fromDisk.generate({ ...settings, generator: new Generator().manualSeed(0) });
    // Same weights, same scheduler, same backend: identical to the last bit.
    expect(maxAbsDiff(a.images.data, b.images.data)).toBe(0);
    // And PyTorch's image for these settings (spec/fixtures/pipeline.json), within that case's bound for the active
    // backend (spec/helpers/tolerances.ts).
    const golden = loadFixture('pipeline.json').cases.find((c: { id: string }) => c.id === 'tiny_s2_eta1_b1_seed0');
    expect(maxAbsDiff(a.images.data, golden.images.data)).toBeLessThanOrEqual(tinyPipelineBound(golden.id, activeTestBackend()));
    fromUrl.dispose();
    fromDisk.dispose();
  });

  it('names the URL of what is wrong', async () => {
    await expect(loadPipelineFromUrl(`${server.origin}/other/vae-pipeline/`)).rejects.toThrow(
      new ModelLayoutError(
        `${server.origin}/other/vae-pipeline/model_index.json`,
        'unet is a UNet2DConditionModel; DDIMPipeline runs UNet2DModel pipelines only',
      ),
    );
    await expect(loadPipelineFromUrl(`${server.origin}/other/bad-scheduler`)).rejects.toThrow(
      new ModelJsonError(`${server.origin}/other/bad-scheduler/scheduler_config.json`, 'must hold a JSON object, got an array'),
    );
    await expect(loadPipelineFromUrl(`${server.origin}/other/nothing-here/`)).rejects.toThrow(
      `${server.origin}/other/nothing-here/: holds no UNet: expected unet/ (a pipeline folder)`,
    );
    await expect(loadPipelineFromUrl('models/tiny-random')).rejects.toThrow(
      new ModelSourceError('models/tiny-random', 'is not a URL (outside a page, pass an absolute http(s) URL)'),
    );
  });
});
