import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { runConvert } from '../../../lib/node/cli/convert';
import { fileSystemHandler, MODEL_JSON } from '../../../lib/node/fs/tfjs-fs-handler';
import { convertCheckpoint } from '../../../lib/node/convert/convert-checkpoint';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { describeEachBackend } from '../../helpers/backends';
import { fixturePath, maxAbsDiff } from '../../helpers/fixtures';
import { parityBound } from '../../helpers/tolerances';
import { nchwValues, nhwcFromFixture, tinyFixture } from '../../models/unet/unet-fixture';

describeEachBackend('convertCheckpoint and the tfjs format', (backend, label) => {
  // The converted model is the same computation as the original: the tiny forward bound (spec/helpers/tolerances.ts).
  const FORWARD_TOLERANCE = parityBound('tinyForward', label);
  const fixture = tinyFixture();
  let work: string;
  let converted: string;
  let original: UNet2DModel;
  let sample: tf.Tensor4D;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), `unet-convert-${backend}-`));
    converted = path.join(work, 'tiny-tfjs');
    original = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    sample = nhwcFromFixture(fixture.cases.find((c) => c.id === 'tiny_seed1_t250')!.sample); // batch 1: the cpu backend is slow
  });
  afterAll(() => {
    original?.dispose();
    sample?.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('writes model.json and weight shards and reports parameters, bytes and seconds', async () => {
    const summary = await convertCheckpoint(fixturePath('tiny-unet'), converted);
    expect(summary.parameters).toBe(fixture.num_parameters);
    expect(summary.files).toEqual(['group1-shard1of1.bin', MODEL_JSON]);
    const shardBytes = fs.statSync(path.join(converted, 'group1-shard1of1.bin')).size;
    expect(shardBytes).toBe(4 * fixture.num_parameters);
    expect(summary.bytes).toBe(shardBytes + fs.statSync(path.join(converted, MODEL_JSON)).size);
    expect(summary.seconds).toBeGreaterThan(0);
    const modelJSON = JSON.parse(fs.readFileSync(path.join(converted, MODEL_JSON), 'utf8'));
    expect(modelJSON.format).toBe('layers-model');
    expect(modelJSON.userDefinedMetadata.diffusers._class_name).toBe('UNet2DModel');
    expect(modelJSON.userDefinedMetadata.diffusers.config.block_out_channels).toEqual([16, 32, 32, 32]);
    expect(modelJSON.userDefinedMetadata.diffusers.source).toBe('tiny-unet'); // the folder's name, no local path
    expect(fs.readdirSync(work)).toEqual(['tiny-tfjs']); // no temporary folder left behind
  });

  test('the converted model gives bit-identical outputs', async () => {
    const reloaded = await UNet2DModel.fromPretrained(converted);
    expect(reloaded.config).toEqual(original.config);
    const a = original.predict(sample, 250);
    const b = reloaded.predict(sample, 250);
    expect(maxAbsDiff(await a.data(), await b.data())).toBe(0);
    tf.dispose([a, b]);
    reloaded.dispose();
  });

  test('tf.loadLayersModel reads it with the custom layers registered', async () => {
    const c = fixture.cases.find((k) => k.id === 'tiny_seed0_t999')!;
    const model = await tfl.loadLayersModel(fileSystemHandler(converted));
    expect(model.countParams()).toBe(fixture.num_parameters);
    const x = nhwcFromFixture(c.sample);
    const t = tf.tensor2d([[999]]); // timestep input: [N, 1]
    const out = model.predict([x, t]) as tf.Tensor;
    // rank-1 timesteps work too: LayersModel.predict expands them to [N, 1] as Keras does
    const t1 = tf.tensor1d([999]);
    const out1 = model.predict([x, t1]) as tf.Tensor;
    expect(maxAbsDiff(await out.data(), await out1.data())).toBe(0);
    tf.dispose([t1, out1]);
    expect(maxAbsDiff(await nchwValues(out), c.output.data)).toBeLessThan(FORWARD_TOLERANCE);
    tf.dispose([x, t, out]);
    model.dispose();
  });

  test('refuses to overwrite without force, replaces with force', async () => {
    await expect(convertCheckpoint(fixturePath('tiny-unet'), converted)).rejects.toThrow(/already exists; pass --force/);
    const lines: string[] = [];
    const summary = await runConvert({ src: fixturePath('tiny-unet-oldkeys'), out: converted, force: true, print: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^converted .*tiny-unet-oldkeys → .*tiny-tfjs: 565,315 parameters, 2\.2 MiB in 2 files, \d+\.\d\d s$/);
    expect(summary.parameters).toBe(fixture.num_parameters);
    const reloaded = await UNet2DModel.fromPretrained(converted);
    const a = original.predict(sample, 7);
    const b = reloaded.predict(sample, 7);
    expect(maxAbsDiff(await a.data(), await b.data())).toBe(0);
    tf.dispose([a, b]);
    reloaded.dispose();
  });

  test('reads a pipeline folder through its unet/', async () => {
    const pipeline = path.join(work, 'pipeline');
    fs.mkdirSync(path.join(pipeline, 'unet'), { recursive: true });
    fs.writeFileSync(path.join(pipeline, 'model_index.json'), JSON.stringify({ _class_name: 'DDIMPipeline', unet: ['diffusers', 'UNet2DModel'] }));
    for (const f of ['config.json', 'diffusion_pytorch_model.safetensors']) {
      fs.copyFileSync(fixturePath('tiny-unet', f), path.join(pipeline, 'unet', f));
    }
    const fromPipeline = await UNet2DModel.fromPretrained(pipeline);
    expect(fromPipeline.countParams()).toBe(fixture.num_parameters);
    fromPipeline.dispose();
    const summary = await convertCheckpoint(pipeline, path.join(work, 'from-pipeline'));
    expect(summary.source).toBe(path.join(pipeline, 'unet'));
  });
});

describe('fromPretrained and the tfjs folder: bad input', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'unet-bad-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('a folder with nothing known in it', async () => {
    await expect(UNet2DModel.fromPretrained(work)).rejects.toThrow(/holds no UNet: expected unet\/ .*config\.json .*model\.json/);
    await expect(UNet2DModel.fromPretrained(path.join(work, 'nope'))).rejects.toThrow(`${path.join(work, 'nope')}: no such folder`);
  });

  test('a truncated weight shard', async () => {
    const dir = path.join(work, 'truncated');
    await convertCheckpoint(fixturePath('tiny-unet'), dir);
    const shard = path.join(dir, 'group1-shard1of1.bin');
    fs.truncateSync(shard, 1000);
    await expect(UNet2DModel.fromPretrained(dir)).rejects.toThrow(/model\.json: the weight shards hold 1000 bytes but its weightsManifest describes 2261260/);
    fs.rmSync(shard);
    await expect(UNet2DModel.fromPretrained(dir)).rejects.toThrow(`${shard}: no such file`);
  });

  test('a model.json without the diffusers config', async () => {
    const dir = path.join(work, 'plain');
    const input = tfl.input({ shape: [2] });
    const model = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 1 }).apply(input) as tfl.SymbolicTensor });
    await model.save(fileSystemHandler(dir));
    model.dispose();
    await expect(UNet2DModel.fromPretrained(dir)).rejects.toThrow(/plain\/model\.json: has no userDefinedMetadata\.diffusers with a UNet2DModel config/);
  });

  test('a diffusers folder whose weights do not fit its config', async () => {
    const dir = path.join(work, 'mismatch');
    fs.mkdirSync(dir);
    const config = JSON.parse(fs.readFileSync(fixturePath('tiny-unet', 'config.json'), 'utf8'));
    config.layers_per_block = 1;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    fs.copyFileSync(fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors'), path.join(dir, 'diffusion_pytorch_model.safetensors'));
    await expect(UNet2DModel.fromPretrained(dir)).rejects.toThrow(/mismatch\/diffusion_pytorch_model\.safetensors: the weights do not match the UNet2DModel config: .*unexpected keys: .*down_blocks\.0\.resnets\.1\./);
  });
});
