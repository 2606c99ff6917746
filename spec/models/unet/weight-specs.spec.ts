import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../../lib/node/backends/set-backend';
import { parseUNet2DConfig } from '../../../lib/models/unet/config';
import { DDPM_CIFAR10_32_PARAMETERS, DDPM_CIFAR10_32_UNET_CONFIG } from '../../../lib/models/unet/ddpm-cifar10-32';
import { stateDictBindings, StateDictMismatchError } from '../../../lib/models/unet/state-dict-mapping';
import { buildUNet2DLayersModel } from '../../../lib/models/unet/unet-2d-graph';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { checkWeightsManifest, unet2DParameterCount, unet2DWeightSpecs } from '../../../lib/models/unet/weight-specs';
import { fixturePath } from '../../helpers/fixtures';
import { runIsolated } from '../../helpers/run-isolated';
import { tinyFixture } from './unet-fixture';

const CONFIG_CHILD = path.join(__dirname, '..', '..', 'config', 'config-child.ts');

const ROOT = path.join(__dirname, '..', '..', '..');
const tinyConfig = () => JSON.parse(fs.readFileSync(fixturePath('tiny-unet', 'config.json'), 'utf8'));

/** Configs that exercise every branch of the graph: attention or not, centering, padding, attention norm groups. */
const VARIANTS: Record<string, Record<string, unknown>> = {
  tiny: {},
  'no attention, centered, padded, 1 layer': { add_attention: false, center_input_sample: true, downsample_padding: 1, layers_per_block: 1 },
  'attention norm groups, head dim, 3 layers': { attn_norm_num_groups: 2, attention_head_dim: 8, layers_per_block: 3 },
  'odd channels (no shortcut where equal)': { block_out_channels: [8, 8, 16, 24], norm_num_groups: 8, in_channels: 1, out_channels: 2 },
};

describe('unet2DWeightSpecs: the keys and shapes a config implies, without building the model', () => {
  beforeAll(async () => {
    await setBackend('cpu');
  });

  test.each(Object.keys(VARIANTS))('are exactly those of the built model (%s)', (name) => {
    const config = parseUNet2DConfig({ ...tinyConfig(), ...VARIANTS[name] });
    const model = buildUNet2DLayersModel(config);
    try {
      const built = stateDictBindings(model).map((b) => [b.key, b.torchShape, b.variable.originalName, b.shape]);
      const described = unet2DWeightSpecs(config).map((s) => [s.key, s.torchShape, s.tfjsName, s.shape]);
      const byKey = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
      expect(described.sort(byKey)).toEqual(built.sort(byKey));
      expect(unet2DParameterCount(config)).toBe(model.countParams());
    } finally {
      model.dispose();
    }
  });

  test("match the fixture's PyTorch state dict and google/ddpm-cifar10-32's parameter count", () => {
    const fixture = tinyFixture();
    const specs = unet2DWeightSpecs(parseUNet2DConfig(tinyConfig()));
    expect(new Map(specs.map((s) => [s.key, s.torchShape]))).toEqual(new Map(fixture.state_dict_keys));
    expect(unet2DParameterCount(parseUNet2DConfig(DDPM_CIFAR10_32_UNET_CONFIG))).toBe(DDPM_CIFAR10_32_PARAMETERS);
  });

  test('allocate nothing, however large the config', () => {
    const before = tf.memory();
    // 2.9e10 parameters (116 GB of float32): described, not allocated. (parseUNet2DConfig refuses it — the parameter
    // limit uses this very count — so the typed config is made from a parsed one.)
    const huge = { ...parseUNet2DConfig(tinyConfig()), blockOutChannels: [16384, 16384, 16384, 16384], normNumGroups: 32 };
    expect(unet2DParameterCount(huge)).toBeGreaterThan(2e10);
    expect(() => parseUNet2DConfig({ ...tinyConfig(), block_out_channels: [16384, 16384, 16384, 16384], norm_num_groups: 32 })).toThrow(
      /implies 1\.\d+e\+11 parameters .* over the limit of 1e\+9/,
    );
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });
});

describe('the loader compares the checkpoint with the config before it builds the model', () => {
  let tmp: string;
  beforeAll(async () => {
    await setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weight-specs-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('a diffusers checkpoint that does not fit: every key reported, no model built', async () => {
    const dir = path.join(tmp, 'mismatch');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...tinyConfig(), layers_per_block: 1 }));
    fs.copyFileSync(fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors'), path.join(dir, 'diffusion_pytorch_model.safetensors'));
    const build = jest.spyOn(UNet2DModel, 'fromConfig');
    try {
      const error = await UNet2DModel.fromPretrained(dir).catch((e) => e);
      expect(error).toBeInstanceOf(StateDictMismatchError);
      expect((error as StateDictMismatchError).source).toBe(path.join(dir, 'diffusion_pytorch_model.safetensors'));
      expect((error as StateDictMismatchError).unexpected).toContain('down_blocks.0.resnets.1.conv1.weight');
      expect((error as StateDictMismatchError).shapeMismatches).toContainEqual({ key: 'up_blocks.2.resnets.1.conv1.weight', checkpoint: [32, 64, 3, 3], expected: [32, 48, 3, 3] });
      expect(build).not.toHaveBeenCalled();
    } finally {
      build.mockRestore();
    }
  });

  test('checkWeightsManifest names the file, each weight and its shape', () => {
    const specs = unet2DWeightSpecs(parseUNet2DConfig(tinyConfig()));
    const entries = specs.map((s) => ({ name: s.tfjsName, shape: s.shape, dtype: 'float32' as const }));
    expect(() => checkWeightsManifest(specs, entries, 'unet/model.json')).not.toThrow();
    const hostile = entries.map((e) => (e.name === 'conv_in/kernel' ? { ...e, shape: [3, 3, 3, 2 ** 24] } : e));
    expect(() => checkWeightsManifest(specs, hostile, 'unet/model.json')).toThrow(
      'unet/model.json: the weights do not match the UNet2DModel config: 1 shape mismatch: conv_in/kernel is [3, 3, 3, 16777216] in the checkpoint, the model expects [3, 3, 3, 16]',
    );
    const linear1 = entries.find((e) => e.name === 'time_embedding/linear_1.weight')!;
    const extra = [
      ...entries.filter((e) => e.name !== 'conv_in/kernel'),
      { name: 'evil/kernel', shape: [1e9], dtype: 'float32' as const },
      { ...linear1, dtype: 'int32' as const },
    ];
    expect(() => checkWeightsManifest(specs, extra, 'm.json')).toThrow(
      /1 missing key: conv_in\/kernel; 1 unexpected key: evil\/kernel \[1000000000\]; .*time_embedding\/linear_1\.weight is listed twice, time_embedding\/linear_1\.weight has dtype "int32"/,
    );
  });

  test('a converted model.json naming a conv of 2^24 filters fails with a named error, before any weight buffer (child process)', async () => {
    // The embedded model's unet/, its manifest edited: conv_in's kernel declared with 2^24 filters (the shards are
    // untouched). Loaded by a fresh node with a 256 MB heap: the old loader allocated the manifest's 805 MB first.
    const dir = path.join(tmp, 'hostile-unet');
    fs.mkdirSync(dir);
    const src = path.join(ROOT, 'models', 'tiny-random', 'unet');
    for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const conv = modelJson.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'conv_in/kernel');
    conv.shape = [3, 3, 3, 2 ** 24];
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));

    // The public loader (UNet2DModel.fromPretrained) in spec/config/config-child.ts, run by run-isolated.ts.
    const [outcome] = runIsolated(CONFIG_CHILD, 'unet-from-pretrained', [dir], { timeoutMs: 60000, maxOldSpaceMb: 256 });
    if (outcome.result !== 'error') throw new Error(`expected an error, got ${JSON.stringify(outcome)}`);
    const out = { name: outcome.name, message: outcome.message, rss: outcome.maxRssMb * 1024 * 1024 };
    expect(out.name).toBe('StateDictMismatchError');
    expect(out.message).toBe(
      `${path.join(dir, 'model.json')}: the weights do not match the UNet2DModel config: 1 shape mismatch: ` +
        'conv_in/kernel is [3, 3, 3, 16777216] in the checkpoint, the model expects [3, 3, 3, 16]',
    );
    // Far below the 805 MB the declared kernel would take (tfjs and its backend alone take ~100 MB).
    expect(out.rss).toBeLessThan(400 * 1024 * 1024);
  });
});
