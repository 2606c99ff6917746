import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { setBackend } from '../../lib/node/backends/set-backend';
import { EMBEDDED_MODEL_DIR } from '../../lib/node/embedded-model';
import { convertPipelineFolder } from '../../lib/node/convert/convert-pipeline';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { convertedCacheDir } from '../../lib/node/open-model-source';
import { readPipelineFolder } from '../../lib/node/fs/pipeline-folder';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../../lib/schedulers/ddpm-cifar10-32';
import { Generator } from '../../lib/random/generator';
import { ModelFileNotFoundError } from '../../lib/loading/model-source';
import { ModelLayoutError } from '../../lib/loading/pipeline-layout';
import { fixturePath, maxAbsDiff } from '../helpers/fixtures';
import { FakeHub, sha256Hex } from '../node/hub/hub-server';
import { activeTestBackend, tinyPipelineBound } from '../helpers/tolerances';
import { pipelineCase, pipelineFixture } from './pipeline-fixture';

const CASE = 'tiny_s2_eta0_b1_seed0';

/** The 2-step seed-0 images of a loaded pipeline (then disposed). */
async function imagesOf(pipeline: DDIMPipeline): Promise<Float32Array> {
  try {
    const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 2, outputType: 'array' });
    return images.data;
  } finally {
    pipeline.dispose();
  }
}

function expectFixtureImages(images: Float32Array): void {
  const c = pipelineCase(CASE);
  expect(maxAbsDiff(images, c.images.data)).toBeLessThanOrEqual(tinyPipelineBound(c.id, activeTestBackend()));
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** spec/fixtures/tiny-unet as a diffusers pipeline folder (model_index.json, unet/, scheduler/). */
function writePipelineFolder(dir: string, schedulerConfig: Record<string, unknown> = pipelineFixture().scheduler_config): string {
  fs.mkdirSync(path.join(dir, 'unet'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'scheduler'), { recursive: true });
  for (const f of ['config.json', 'diffusion_pytorch_model.safetensors']) fs.copyFileSync(fixturePath('tiny-unet', f), path.join(dir, 'unet', f));
  fs.writeFileSync(path.join(dir, 'scheduler', 'scheduler_config.json'), json(schedulerConfig));
  fs.writeFileSync(path.join(dir, 'model_index.json'), json({ _class_name: 'DDPMPipeline', scheduler: ['diffusers', 'DDPMScheduler'], unet: ['diffusers', 'UNet2DModel'] }));
  return dir;
}

describe('DDIMPipeline.fromPretrained: folder layouts (wasm)', () => {
  let tmp: string;
  beforeAll(async () => {
    await setBackend('wasm');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-load-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('a bare UNet folder gets google/ddpm-cifar10-32 scheduler config (the one the fixtures used)', async () => {
    expect((await readPipelineFolder(fixturePath('tiny-unet'))).schedulerConfig).toEqual(pipelineFixture().scheduler_config);
    expect({ ...DDPM_CIFAR10_SCHEDULER_CONFIG }).toEqual(pipelineFixture().scheduler_config);
    expectFixtureImages(await imagesOf(await DDIMPipeline.fromPretrained(fixturePath('tiny-unet'))));
  });

  test('a diffusers pipeline folder reads unet/ and scheduler/scheduler_config.json', async () => {
    const dir = writePipelineFolder(path.join(tmp, 'pipeline'));
    expectFixtureImages(await imagesOf(await DDIMPipeline.fromPretrained(dir)));
    const other = writePipelineFolder(path.join(tmp, 'pipeline-trailing'), { ...pipelineFixture().scheduler_config, timestep_spacing: 'trailing' });
    const pipeline = await DDIMPipeline.fromPretrained(other);
    expect(pipeline.scheduler.config.timestepSpacing).toBe('trailing');
    pipeline.dispose();
  });

  test('the flat layout of early Hub repositories (config.json, weights, scheduler_config.json side by side)', async () => {
    const dir = path.join(tmp, 'flat');
    fs.mkdirSync(dir);
    for (const f of ['config.json', 'diffusion_pytorch_model.bin']) fs.copyFileSync(fixturePath('tiny-unet', f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'scheduler_config.json'), json({ ...pipelineFixture().scheduler_config, clip_sample: false }));
    const pipeline = await DDIMPipeline.fromPretrained(dir);
    expect(pipeline.scheduler.config.clipSample).toBe(false);
    pipeline.dispose();
  });

  test('a converted folder gives bit-identical images to its source, and holds the scheduler config', async () => {
    const src = writePipelineFolder(path.join(tmp, 'to-convert'));
    const out = path.join(tmp, 'converted');
    const summary = await convertPipelineFolder(src, out);
    expect(summary.parameters).toBe(565315);
    expect(summary.files).toEqual(['model_index.json', 'scheduler/scheduler_config.json', 'unet/group1-shard1of1.bin', 'unet/model.json']);
    expect(summary.bytes).toBe(summary.files.reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0));
    expect(JSON.parse(fs.readFileSync(path.join(out, 'scheduler', 'scheduler_config.json'), 'utf8'))).toEqual(pipelineFixture().scheduler_config);
    const fromSource = await imagesOf(await DDIMPipeline.fromPretrained(src));
    const fromConverted = await imagesOf(await DDIMPipeline.fromPretrained(out));
    expect(Buffer.from(fromConverted.buffer).equals(Buffer.from(fromSource.buffer))).toBe(true);

    await expect(convertPipelineFolder(src, out)).rejects.toThrow(/already exists; pass --force/);
    await expect(convertPipelineFolder(out, path.join(tmp, 'again'))).rejects.toThrow(/is already converted \(it holds model\.json\)/);
  });

  test('the embedded model (models/tiny-random) is the fixture UNet with the fixture scheduler: fixture images, bit for bit as the source', async () => {
    expect((await readPipelineFolder(EMBEDDED_MODEL_DIR)).schedulerConfig).toEqual(pipelineFixture().scheduler_config);
    const embedded = await imagesOf(await DDIMPipeline.fromPretrained(EMBEDDED_MODEL_DIR));
    expectFixtureImages(embedded);
    const fromFixture = await imagesOf(await DDIMPipeline.fromPretrained(fixturePath('tiny-unet')));
    expect(Buffer.from(embedded.buffer).equals(Buffer.from(fromFixture.buffer))).toBe(true);
  });

  test('what is not a pipeline is refused with the path and the reason', async () => {
    await expect(DDIMPipeline.fromPretrained(path.join(tmp, 'nope', 'x'))).rejects.toThrow(new ModelFileNotFoundError(path.join(tmp, 'nope', 'x'), 'no such folder'));
    await expect(DDIMPipeline.fromPretrained('not a folder')).rejects.toThrow(
      `not a folder: is neither an existing folder (from ${process.cwd()}) nor a Hub id like google/ddpm-cifar10-32`,
    );
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    await expect(DDIMPipeline.fromPretrained(empty)).rejects.toThrow(`${empty}: holds no UNet: expected unet/`);
    await expect(DDIMPipeline.fromPretrained(empty)).rejects.toBeInstanceOf(ModelLayoutError);
    const conditional = writePipelineFolder(path.join(tmp, 'conditional'));
    fs.writeFileSync(path.join(conditional, 'model_index.json'), json({ unet: ['diffusers', 'UNet2DConditionModel'] }));
    await expect(DDIMPipeline.fromPretrained(conditional)).rejects.toThrow(
      new ModelLayoutError(path.join(conditional, 'model_index.json'), 'unet is a UNet2DConditionModel; DDIMPipeline runs UNet2DModel pipelines only'),
    );
  });
});

describe('DDIMPipeline.fromPretrained(hub id) against a fake Hub on 127.0.0.1 (wasm)', () => {
  const REPO = 'google/ddpm-tiny-test';
  const WEIGHTS = 'unet/diffusion_pytorch_model.safetensors';
  let hub: FakeHub;
  let tmp: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    await setBackend('wasm');
  });
  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-hub-'));
    const files: Record<string, Uint8Array> = {};
    const folder = writePipelineFolder(path.join(tmp, 'repo'));
    for (const f of ['model_index.json', 'scheduler/scheduler_config.json', 'unet/config.json', WEIGHTS]) {
      files[f] = new Uint8Array(fs.readFileSync(path.join(folder, f)));
    }
    hub = new FakeHub();
    hub.addRepo(REPO, files, [WEIGHTS]);
    await hub.start();
    // HF_ENDPOINT and HF_HOME are honoured; nothing of this machine's environment leaks in.
    env = { HF_ENDPOINT: hub.url, HF_HOME: path.join(tmp, 'hf-home') };
  });
  afterEach(async () => {
    await hub.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('downloads into the HF cache, converts once, then reuses the conversion (also offline)', async () => {
    const status: string[] = [];
    const first = await DDIMPipeline.fromPretrained(REPO, { env, retryDelayMs: 0, onStatus: (s) => status.push(s) });
    expectFixtureImages(await imagesOf(first));
    const cacheDir = path.join(tmp, 'hf-home', 'hub');
    const commit = hub.repos.get(REPO)!.commit;
    const converted = convertedCacheDir(cacheDir, REPO, commit);
    expect(converted).toBe(path.join(cacheDir, 'tfjs-diffusers', 'google--ddpm-tiny-test', commit));
    expect(fs.existsSync(path.join(converted, 'unet', 'model.json'))).toBe(true);
    expect(status.filter((s) => s.startsWith('converting'))).toHaveLength(1);
    const modelJsonTime = fs.statSync(path.join(converted, 'unet', 'model.json')).mtimeMs;

    status.length = 0;
    const weightGets = hub.requests('/lfs/', 'GET').length;
    expectFixtureImages(await imagesOf(await DDIMPipeline.fromPretrained(REPO, { env, onStatus: (s) => status.push(s) })));
    expect(status.filter((s) => s.startsWith('converting'))).toEqual([]);
    expect(hub.requests('/lfs/', 'GET')).toHaveLength(weightGets);
    expect(fs.statSync(path.join(converted, 'unet', 'model.json')).mtimeMs).toBe(modelJsonTime);

    const requests = hub.log.length;
    expectFixtureImages(await imagesOf(await DDIMPipeline.fromPretrained(REPO, { env: { ...env, HF_HUB_OFFLINE: '1' } })));
    expect(hub.log).toHaveLength(requests);
  });

  test('an interrupted download resumes, and the pipeline still matches diffusers', async () => {
    const sha = sha256Hex(hub.repos.get(REPO)!.files[WEIGHTS]);
    hub.dropAfter.set(sha, 300_000);
    expectFixtureImages(await imagesOf(await DDIMPipeline.fromPretrained(REPO, { env, retryDelayMs: 0 })));
    expect(hub.requests(`/lfs/${sha}`, 'GET').map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
  });

  test('a corrupted download is refused and nothing is converted', async () => {
    const sha = sha256Hex(hub.repos.get(REPO)!.files[WEIGHTS]);
    hub.corrupt.add(sha);
    await expect(DDIMPipeline.fromPretrained(REPO, { env, retryDelayMs: 0 })).rejects.toThrow(/is corrupted: its sha256 is [0-9a-f]{64}, the Hub says/);
    expect(fs.existsSync(path.join(tmp, 'hf-home', 'hub', 'tfjs-diffusers'))).toBe(false);
  });
});
