// Issue 10, defect 3: configs allocated before anything was checked (layers_per_block 100000: > 90 s and 4 GB;
// block_out_channels [1e9]: 2 GB then a bare RangeError; num_train_timesteps 2^31: 23.6 GB, OOM-killed; 1e12: a
// RangeError naming no key; a model.json with a conv of 2^24 filters: "Array buffer allocation failed"). Each hostile
// file is written here and loaded through the public loaders in a child process (256 MB heap, 4 GB address space,
// 30 s): each must end in the named error, naming the file, the key and the value, within bounded time and memory.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseUNet2DConfig } from '../../lib/models/unet/config';
import { unet2DWeightSpecs } from '../../lib/models/unet/weight-specs';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../../lib/models/unet/ddpm-cifar10-32';
import { fixturePath } from '../helpers/fixtures';
import { IsolatedOutcome, runIsolated } from '../helpers/run-isolated';

const CHILD = path.join(__dirname, 'config-child.ts');
const LIMITS = { timeoutMs: 30_000, maxOldSpaceMb: 256, maxAddressSpaceMb: 4096 };
// Peak RSS allowed for a refused config: node + tfjs-core + the cpu backend measure ~100 MB here (AMD EPYC Zen 4).
const MAX_RSS_MB = 300;
// Time allowed per refused config: the checks take under 10 ms; 2 s leaves room for a loaded CI machine.
const MAX_MS = 2_000;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-configs-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cifar = (): Record<string, unknown> => JSON.parse(JSON.stringify(DDPM_CIFAR10_32_UNET_CONFIG));

/** Writes `json` as `name` in a fresh folder and returns the file's path. */
function writeJson(name: string, json: unknown): string {
  const folder = fs.mkdtempSync(path.join(dir, 'case-'));
  const file = path.join(folder, name);
  fs.writeFileSync(file, JSON.stringify(json));
  return file;
}

function expectRefused(outcome: IsolatedOutcome, errorName: string, ...parts: string[]): void {
  if (outcome.result !== 'error') throw new Error(`expected a ${errorName}, got ${JSON.stringify(outcome)}`);
  expect(outcome.name).toBe(errorName);
  for (const part of parts) expect(outcome.message).toContain(part);
  expect(outcome.maxRssMb).toBeLessThan(MAX_RSS_MB);
  expect(outcome.ms).toBeLessThan(MAX_MS);
}

describe('the isolated child measures its own peak RSS', () => {
  test('a jest worker holding 600 MB does not raise the peak RSS its child reports (Linux: VmHWM, not maxRSS)', () => {
    // Touched pages, so that they count in this process's RSS; Linux would carry them into a child's maxRSS.
    const ballast = Buffer.alloc(600 * 2 ** 20, 1);
    const [outcome] = runIsolated(CHILD, 'ddim-from-config', [writeJson('scheduler_config.json', {})], LIMITS);
    expect(ballast[ballast.length - 1]).toBe(1);
    expect(outcome.result).toBe('ok');
    expect((outcome as { maxRssMb: number }).maxRssMb).toBeLessThan(MAX_RSS_MB);
  });
});

describe('hostile UNet configs are refused before anything is allocated', () => {
  const cases: [string, (j: Record<string, unknown>) => void, string][] = [
    ['layers_per_block 100000', (j) => (j.layers_per_block = 100000), 'layers_per_block=100000 exceeds the limit of 64'],
    ['block_out_channels [1e9]', (j) => Object.assign(j, { block_out_channels: [1e9], down_block_types: ['DownBlock2D'], up_block_types: ['UpBlock2D'] }), 'block_out_channels[0]=1000000000 exceeds the limit of 16384'],
    ['in_channels 2^24', (j) => (j.in_channels = 2 ** 24), 'in_channels=16777216 exceeds the limit of 16384'],
    ['within every per-key limit, over the parameter limit', (j) => Object.assign(j, { block_out_channels: [8192, 8192, 8192, 8192], layers_per_block: 64 }), 'over the limit of 1e+9'],
  ];

  test.each(cases)('UNet2DModel.fromConfig: %s', (_name, edit, message) => {
    const json = cifar();
    edit(json);
    const [outcome] = runIsolated(CHILD, 'unet-from-config', [writeJson('config.json', json)], LIMITS);
    expectRefused(outcome, 'ConfigError', message);
  });

  test('UNet2DModel.fromPretrained names the config.json', () => {
    const json = cifar();
    json.layers_per_block = 100000;
    const file = writeJson('config.json', json);
    // A complete model folder: the config is refused before its weights are read.
    fs.copyFileSync(fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors'), path.join(path.dirname(file), 'diffusion_pytorch_model.safetensors'));
    const [outcome] = runIsolated(CHILD, 'unet-from-pretrained', [path.dirname(file)], LIMITS);
    expectRefused(outcome, 'ConfigError', `${file}: layers_per_block=100000 exceeds the limit of 64`);
  });
});

describe('hostile scheduler configs are refused before any table exists', () => {
  test.each<[string, Record<string, unknown>, string]>([
    ['num_train_timesteps 2^31', { num_train_timesteps: 2147483648 }, 'num_train_timesteps=2147483648 exceeds the limit of 100000'],
    ['num_train_timesteps 1e12', { num_train_timesteps: 1e12 }, 'num_train_timesteps=1000000000000 exceeds the limit of 100000'],
    ['trained_betas of 200,000 values', { trained_betas: new Array(200_000).fill(0.01) }, 'trained_betas=[array of 200000] has 200000 entries, over the limit of 100000'],
    ['steps_offset 2^40', { steps_offset: 2 ** 40 }, 'steps_offset=1099511627776 exceeds the limit of 100000'],
  ])('DDIMScheduler.fromConfig and DDPMScheduler.fromConfig: %s', (_name, json, message) => {
    const file = writeJson('scheduler_config.json', { _class_name: 'DDPMScheduler', ...json });
    for (const task of ['ddim-from-config', 'ddpm-from-config']) {
      const [outcome] = runIsolated(CHILD, task, [file], LIMITS);
      expectRefused(outcome, 'ConfigError', `${file}: ${message}`);
    }
  });
});

describe('a converted model.json is checked against its config before anything is built', () => {
  const TINY = { ...cifar(), block_out_channels: [32, 32], down_block_types: ['DownBlock2D', 'DownBlock2D'], up_block_types: ['UpBlock2D', 'UpBlock2D'], layers_per_block: 1 };

  /**
   * A tfjs folder laid out as `convert` writes it for the TINY config (manifest from the config, one shard of zeros
   * of the size the manifest implies), with `edit` applied to its model.json before the shard is sized.
   */
  function writeTfjsFolder(edit: (modelJson: { modelTopology: { config: { layers: unknown[] } }; weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[]; userDefinedMetadata: { diffusers: { config: Record<string, unknown> } } }) => void, writeShard = true): string {
    const folder = fs.mkdtempSync(path.join(dir, 'tfjs-'));
    const conv = (filters: number) => ({ class_name: 'Conv2D', config: { name: 'conv_in', filters, kernel_size: [3, 3], padding: 'same' } });
    const weights = unet2DWeightSpecs(parseUNet2DConfig(TINY)).map((spec) => ({ name: spec.tfjsName, shape: spec.shape, dtype: 'float32' }));
    const modelJson = {
      format: 'layers-model',
      modelTopology: { class_name: 'Functional', config: { name: 'UNet2DModel', layers: [conv(32)] as unknown[] } },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights }],
      userDefinedMetadata: { diffusers: { _class_name: 'UNet2DModel', config: JSON.parse(JSON.stringify(TINY)) } },
    };
    edit(modelJson);
    const bytes = modelJson.weightsManifest[0].weights.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (writeShard) fs.writeFileSync(path.join(folder, 'group1-shard1of1.bin'), new Uint8Array(bytes));
    fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify(modelJson));
    return folder;
  }

  test('a conv of 2^24 filters in the topology is never built: the model comes from the checked config', () => {
    // Before: tfl.loadLayersModel built the topology first ("Array buffer allocation failed", 1.8 GB asked for).
    const folder = writeTfjsFolder((m) => {
      m.modelTopology.config.layers = [{ class_name: 'Conv2D', config: { name: 'conv_in', filters: 2 ** 24, kernel_size: [3, 3] } }];
    });
    const [outcome] = runIsolated(CHILD, 'unet-from-pretrained', [folder], LIMITS);
    if (outcome.result !== 'ok') throw new Error(`expected the model to load, got ${JSON.stringify(outcome)}`);
    expect(outcome.value).toBe('loaded');
    expect(outcome.maxRssMb).toBeLessThan(MAX_RSS_MB);
  });

  test('a manifest that disagrees with the config: a StateDictMismatchError naming the model.json and the weight', () => {
    const folder = writeTfjsFolder((m) => {
      m.weightsManifest[0].weights.find((w) => w.name === 'conv_in/kernel')!.shape = [3, 3, 3, 64];
    });
    const [outcome] = runIsolated(CHILD, 'unet-from-pretrained', [folder], LIMITS);
    expectRefused(outcome, 'StateDictMismatchError', path.join(folder, 'model.json'), 'conv_in/kernel is [3, 3, 3, 64] in the checkpoint, the model expects [3, 3, 3, 32]');
  });

  test('a manifest claiming a 2^24-filter conv with no such shard: refused against the config before any shard is read', () => {
    const folder = writeTfjsFolder((m) => {
      m.weightsManifest[0].weights.find((w) => w.name === 'conv_in/kernel')!.shape = [3, 3, 3, 2 ** 24];
    }, false);
    fs.writeFileSync(path.join(folder, 'group1-shard1of1.bin'), new Uint8Array(1024));
    const [outcome] = runIsolated(CHILD, 'unet-from-pretrained', [folder], LIMITS);
    expectRefused(outcome, 'StateDictMismatchError', path.join(folder, 'model.json'), 'conv_in/kernel is [3, 3, 3, 16777216] in the checkpoint, the model expects [3, 3, 3, 32]');
  });

  test('a config of 2^24 channels in the metadata: a ConfigError naming the model.json and the key', () => {
    const folder = writeTfjsFolder((m) => {
      m.userDefinedMetadata.diffusers.config.block_out_channels = [2 ** 24, 2 ** 24];
    });
    const [outcome] = runIsolated(CHILD, 'unet-from-pretrained', [folder], LIMITS);
    expectRefused(outcome, 'ConfigError', `${path.join(folder, 'model.json')} (userDefinedMetadata.diffusers.config): block_out_channels[0]=16777216 exceeds the limit of 16384`);
  });
});
