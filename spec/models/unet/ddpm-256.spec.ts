// The google/ddpm-*-256 family (celebahq, church, bedroom, cat and their ddpm-ema-* twins: one UNet2DModel config,
// lib/models/unet/ddpm-256.ts) against diffusers 0.30.3 (spec/fixtures/unet_256_family.json, written by
// scripts/fixtures/make_unet_256_family.py). In CI: the architecture at a quarter of the width (block_out_channels
// 32–128, every other field the real config's) at 64×64, on every backend. Opt-in (TFJS_DIFFUSERS_FULL_256=1): the true
// width at 256×256 (113.7 M recipe parameters), checked on the fixture's strided subset of the output.
import * as tf from '@tensorflow/tfjs-core';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { parseUNet2DConfig } from '../../../lib/models/unet/config';
import { unet2DParameterCount } from '../../../lib/models/unet/weight-specs';
import { DDPM_256_MODELS, DDPM_256_PARAMETERS, DDPM_256_UNET_CONFIG } from '../../../lib/models/unet/ddpm-256';
import { forwardBytesPerImage, maxBatchPerForwardFor } from '../../../lib/pipelines/forward-memory';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../../../lib/models/unet/ddpm-cifar10-32';
import { Generator } from '../../../lib/random/generator';
import { randnTensor } from '../../../lib/random/randn-tensor';
import { describeEachBackend, TestBackend } from '../../helpers/backends';
import { FixtureArray, loadFixture, maxAbsDiff } from '../../helpers/fixtures';
import { recipeStateDict } from '../../helpers/recipe-weights';
import { parityBound, reportParity } from '../../helpers/tolerances';
import { stateDictSha256 } from '../../io/state-dict-hash';
import { nchwValues } from './unet-fixture';

interface Family256Fixture {
  config: Record<string, unknown>;
  reduced: {
    config: Record<string, unknown>;
    weights_seed: number;
    weights_sha256: string;
    num_parameters: number;
    state_dict_keys: [string, number[]][];
    cases: { id: string; input_seed: number; input_shape: number[]; timestep: number | number[]; output: FixtureArray }[];
  };
  full: {
    weights_seed: number;
    weights_sha256: string;
    num_parameters: number;
    state_dict_keys: [string, number[]][];
    case: {
      id: string;
      input_seed: number;
      input_shape: number[];
      timestep: number;
      stride: number;
      strided_output: number[];
      abs_sum: number;
    };
  };
}

const fixture = loadFixture<Family256Fixture>('unet_256_family.json');

/** The NHWC input torch drew as `torch.randn(shape NCHW, generator=manual_seed(seed))`. */
function input(shape: number[], seed: number): tf.Tensor4D {
  return randnTensor(shape, { generator: new Generator().manualSeed(seed), layout: 'NHWC' }) as tf.Tensor4D;
}

describe('the google/ddpm-*-256 config', () => {
  test('is the config diffusers built the fixture from, and parses with every block type the library has', () => {
    expect(JSON.parse(JSON.stringify(DDPM_256_UNET_CONFIG))).toEqual(fixture.config);
    const config = parseUNet2DConfig(DDPM_256_UNET_CONFIG as Record<string, unknown>);
    expect(unet2DParameterCount(config)).toBe(DDPM_256_PARAMETERS);
    expect(fixture.full.num_parameters).toBe(DDPM_256_PARAMETERS);
    expect(DDPM_256_MODELS).toHaveLength(8);
  });

  test('the batch cap per forward follows the memory a forward needs: 16 at 32×32, 1 at 256×256', () => {
    const cifar = forwardBytesPerImage(DDPM_CIFAR10_32_UNET_CONFIG as never)!;
    const big = forwardBytesPerImage(parseUNet2DConfig(DDPM_256_UNET_CONFIG as Record<string, unknown>))!;
    // 64× the pixels, the same top width: the estimate grows with the pixels (the attention level is tiny here).
    expect(big / cifar).toBeGreaterThan(40);
    expect(maxBatchPerForwardFor(parseUNet2DConfig(DDPM_CIFAR10_32_UNET_CONFIG as Record<string, unknown>))).toBe(16);
    expect(maxBatchPerForwardFor(parseUNet2DConfig(DDPM_256_UNET_CONFIG as Record<string, unknown>))).toBe(1);
    // A test double without the fields gets the default cap.
    expect(maxBatchPerForwardFor({ sampleSize: 32 })).toBe(16);
  });
});

describe('reduced-width weights from the recipe', () => {
  test('hash to the fixture weights_sha256 and count num_parameters', () => {
    const weights = recipeStateDict(fixture.reduced.state_dict_keys, fixture.reduced.weights_seed);
    expect(stateDictSha256(weights)).toBe(fixture.reduced.weights_sha256);
    expect([...weights.values()].reduce((n, t) => n + t.data.length, 0)).toBe(fixture.reduced.num_parameters);
  }, 300_000);
});

describeEachBackend('the 256-px architecture at reduced width against diffusers (unet_256_family.json)', (_tf, backend: TestBackend) => {
  let unet: UNet2DModel;
  beforeAll(() => {
    unet = UNet2DModel.fromConfig(fixture.reduced.config);
    // diffusers' own state-dict keys and shapes: the checkpoint mapping is the one a google/ddpm-*-256 file goes through.
    unet.loadStateDict(recipeStateDict(fixture.reduced.state_dict_keys, fixture.reduced.weights_seed), 'recipe weights');
  }, 300_000);
  afterAll(() => unet?.dispose());

  // The pure-JS cpu backend takes ~1 min per case on a loaded machine: it runs the first case (every layer) only.
  for (const c of fixture.reduced.cases.filter((k, i) => backend !== 'cpu' || i === 0)) {
    test(`forward ${c.id}: t=${JSON.stringify(c.timestep)} within the ddpm256Forward bound`, async () => {
      const x = input(c.input_shape, c.input_seed);
      const out = unet.predict(x, c.timestep);
      const error = maxAbsDiff(await nchwValues(out), c.output.data);
      tf.dispose([x, out]);
      const bound = parityBound('ddpm256Forward', backend);
      reportParity(`ddpm-256 reduced forward ${c.id}`, backend, error, bound);
      expect(error).toBeLessThanOrEqual(bound);
    }, 600_000);
  }
});

const FULL_256 = process.env.TFJS_DIFFUSERS_FULL_256 === '1';
const optIn = FULL_256 ? test : test.skip;

describe('the 256-px architecture at true width, 256×256 (opt-in)', () => {
  optIn(
    `${fixture.full.case.id}: the strided output within the fullForward bound (opt-in: TFJS_DIFFUSERS_FULL_256=1; ~1 GB, minutes on a CPU)`,
    async () => {
      const { case: c } = fixture.full;
      const weights = recipeStateDict(fixture.full.state_dict_keys, fixture.full.weights_seed);
      expect(stateDictSha256(weights)).toBe(fixture.full.weights_sha256);
      const unet = UNet2DModel.fromConfig(DDPM_256_UNET_CONFIG as Record<string, unknown>);
      try {
        unet.loadStateDict(weights, 'recipe weights');
        weights.clear();
        const x = input(c.input_shape, c.input_seed);
        const out = unet.predict(x, c.timestep);
        const values = await nchwValues(out);
        tf.dispose([x, out]);
        const strided = Array.from({ length: c.strided_output.length }, (_, i) => values[i * c.stride]);
        const error = maxAbsDiff(strided, c.strided_output);
        const backend = tf.getBackend() as TestBackend;
        const bound = parityBound('fullForward', backend === 'wasm' ? 'wasm' : backend);
        reportParity(`ddpm-256 full forward ${c.id} (every ${c.stride}th value)`, backend, error, bound);
        expect(error).toBeLessThanOrEqual(bound);
      } finally {
        unet.dispose();
      }
    },
    30 * 60_000,
  );
});
