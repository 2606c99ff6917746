import * as fs from 'fs';
import { fixturePath, loadFixture } from '../../helpers/fixtures';
import { parseUNet2DConfig, UNET_2D_DEFAULTS, unet2DConfigToJSON } from '../../../lib/models/unet/config';
import { attentionHeads, timeEmbedDim } from '../../../lib/models/unet/config-dimensions';
import { unknownKeysWarning } from '../../../lib/config/config-schema';
import { readUNet2DConfig } from '../../../lib/node/fs/read-unet-2d-config';
import { ConfigError } from '../../../lib/config/config-error';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../../../lib/models/unet/ddpm-cifar10-32';

const cifar = (): Record<string, unknown> => JSON.parse(JSON.stringify(DDPM_CIFAR10_32_UNET_CONFIG));

describe('parseUNet2DConfig', () => {
  test('reads the tiny fixture config written by diffusers 0.30.3', () => {
    const config = readUNet2DConfig(fixturePath('tiny-unet', 'config.json'));
    expect(config.blockOutChannels).toEqual([16, 32, 32, 32]);
    expect(config.downBlockTypes).toEqual(['DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D', 'DownBlock2D']);
    expect(config.normNumGroups).toBe(4);
    expect(config.attentionHeadDim).toBeNull();
    expect(config.downsamplePadding).toBe(0);
    expect(config.freqShift).toBe(1);
    expect(config.flipSinToCos).toBe(false);
  });

  test('fills diffusers 0.30.3 defaults for the keys an old config lacks', () => {
    const config = parseUNet2DConfig(cifar());
    expect(config.addAttention).toBe(true);
    expect(config.downsampleType).toBe('conv');
    expect(config.upsampleType).toBe('conv');
    expect(config.resnetTimeScaleShift).toBe('default');
    expect(config.attnNormNumGroups).toBeNull();
    expect(config.dropout).toBe(0);
    expect(timeEmbedDim(config)).toBe(512);
    // present as null in ddpm-cifar10-32: one head spanning the channels
    expect(config.attentionHeadDim).toBeNull();
    expect(attentionHeads(config, 256)).toBe(1);
  });

  test('a missing attention_head_dim means 8, as in diffusers (not null)', () => {
    const json = cifar();
    delete json.attention_head_dim;
    const config = parseUNet2DConfig(json);
    expect(config.attentionHeadDim).toBe(8);
    expect(attentionHeads(config, 256)).toBe(32);
  });

  test('an empty object gets every diffusers default', () => {
    const config = parseUNet2DConfig({});
    expect(unet2DConfigToJSON(config)).toEqual({ _class_name: 'UNet2DModel', ...UNET_2D_DEFAULTS });
  });

  test('round-trips through its config.json form', () => {
    const config = parseUNet2DConfig(cifar());
    expect(parseUNet2DConfig(unet2DConfigToJSON(config))).toEqual(config);
  });

  test('accepts the "UNetRes" block name prefix diffusers strips, "swish", and metadata keys', () => {
    const json: Record<string, unknown> = { ...cifar(), act_fn: 'swish', _name_or_path: 'x', _diffusers_version: '0.0.4' };
    (json.down_block_types as string[])[0] = 'UNetResDownBlock2D';
    const config = parseUNet2DConfig(json);
    expect(config.downBlockTypes[0]).toBe('DownBlock2D');
    expect(config.actFn).toBe('swish');
  });

  const bad: [string, (j: Record<string, unknown>) => void, RegExp][] = [
    ['unknown down block type', (j) => ((j.down_block_types as string[])[2] = 'CrossAttnDownBlock2D'), /down_block_types\[2\]="CrossAttnDownBlock2D" is not supported \(supported: "DownBlock2D", "AttnDownBlock2D"\)/],
    ['unknown up block type', (j) => ((j.up_block_types as string[])[0] = 'AttnSkipUpBlock2D'), /up_block_types\[0\]="AttnSkipUpBlock2D"/],
    ['act_fn gelu', (j) => (j.act_fn = 'gelu'), /act_fn="gelu" is not supported \(supported: "silu", "swish"\)/],
    ['fourier time embedding', (j) => (j.time_embedding_type = 'fourier'), /time_embedding_type="fourier" is not supported/],
    ['scale_shift resnets', (j) => (j.resnet_time_scale_shift = 'scale_shift'), /resnet_time_scale_shift="scale_shift" is not supported/],
    ['class conditioning', (j) => (j.class_embed_type = 'timestep'), /class_embed_type="timestep" is not supported/],
    ['num_class_embeds', (j) => (j.num_class_embeds = 10), /num_class_embeds=10 is not supported/],
    ['resnet downsampling', (j) => (j.downsample_type = 'resnet'), /downsample_type="resnet" is not supported/],
    ['resnet upsampling', (j) => (j.upsample_type = 'resnet'), /upsample_type="resnet" is not supported/],
    ['no mid block', (j) => (j.mid_block_type = null), /mid_block_type=null is not supported/],
    ['groups that do not divide', (j) => (j.norm_num_groups = 30), /norm_num_groups=30 does not divide block_out_channels\[0\]=128/],
    ['head width that does not divide', (j) => (j.attention_head_dim = 48), /attention_head_dim=48 does not divide block_out_channels\[1\]=256/],
    ['mid attention groups that do not divide', (j) => (j.attn_norm_num_groups = 3), /attn_norm_num_groups=3 does not divide block_out_channels\[3\]=256/],
    ['block count mismatch', (j) => (j.up_block_types = ['UpBlock2D', 'UpBlock2D']), /up_block_types=.* has 2 entries but block_out_channels has 4/],
    ['non-integer channels', (j) => (j.block_out_channels = [128, 256.5, 256, 256]), /block_out_channels\[1\]=256.5/],
    ['zero layers_per_block', (j) => (j.layers_per_block = 0), /layers_per_block=0 must be a positive integer/],
    ['string eps', (j) => (j.norm_eps = '1e-6'), /norm_eps="1e-6" must be a finite number/],
    ['downsample_padding 2', (j) => (j.downsample_padding = 2), /downsample_padding=2 is not supported \(supported: 0, 1\)/],
    ['bad sample_size', (j) => (j.sample_size = [32]), /sample_size=\[32\] must be a positive integer, a \[height, width\] pair or null/],
    ['freq_shift dividing by zero', (j) => (j.freq_shift = 64), /freq_shift=64 equals half of block_out_channels\[0\]=128/],
    ['a conditional UNet key that changes the network', (j) => (j.cross_attention_dim = 768), /cross_attention_dim=768 is not supported: it belongs to a conditional UNet/],
    ['a 1x1 conv_in', (j) => (j.conv_in_kernel = 1), /conv_in_kernel=1 is not supported: this port builds 3×3 conv_in only/],
    ['dropout of 1', (j) => (j.dropout = 1), /dropout=1 must be a number in \[0, 1\)/],
    ['a [height, width] with a string', (j) => (j.sample_size = [32, '32']), /sample_size\[1\]="32" must be a positive integer <= 65536/],
    // The limits of docs/checkpoints.md ("Config limits"), refused before anything is built.
    ['layers_per_block over the limit', (j) => (j.layers_per_block = 100000), /layers_per_block=100000 exceeds the limit of 64 \(docs\/checkpoints\.md, "Config limits"\)/],
    ['a channel count over the limit', (j) => (j.block_out_channels = [1e9, 256, 256, 256]), /block_out_channels\[0\]=1000000000 exceeds the limit of 16384/],
    ['too many blocks', (j) => (j.block_out_channels = new Array(9).fill(32)), /block_out_channels=\[array of 9\] has 9 entries, over the limit of 8/],
    ['in_channels over the limit', (j) => (j.in_channels = 2 ** 24), /in_channels=16777216 exceeds the limit of 16384/],
    ['num_train_timesteps over the limit', (j) => (j.num_train_timesteps = 2147483648), /num_train_timesteps=2147483648 exceeds the limit of 100000/],
    ['sample_size over the limit', (j) => (j.sample_size = 1e6), /sample_size=1000000 exceeds the limit of 65536/],
    [
      'more parameters than the limit',
      (j) => Object.assign(j, { block_out_channels: [4096, 4096, 4096, 4096], layers_per_block: 4 }),
      /unet\/config\.json: block_out_channels=\[4096,4096,4096,4096\] with layers_per_block=4 implies 1\.\d+e\+10 parameters \(\d+\.\d GB of float32\), over the limit of 1e\+9/,
    ],
    ['another model class', (j) => (j._class_name = 'UNet2DConditionModel'), /_class_name="UNet2DConditionModel" is not supported/],
  ];
  for (const [what, edit, message] of bad) {
    test(`rejects ${what} with an error naming the field and value`, () => {
      const json = cifar();
      edit(json);
      expect(() => parseUNet2DConfig(json, 'unet/config.json')).toThrow(message);
      expect(() => parseUNet2DConfig(json, 'unet/config.json')).toThrow(/^unet\/config\.json: /);
    });
  }

  test('rejects a non-object and names an unreadable file', () => {
    for (const bad of [[1, 2], null, 'x', 3, new Float32Array(1)]) {
      expect(() => parseUNet2DConfig(bad, 'unet/config.json')).toThrow(ConfigError);
    }
    expect(() => parseUNet2DConfig([1, 2])).toThrow('unet config: the UNet config must be a JSON object, got [1,2]');
    const file = fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors');
    expect(fs.existsSync(file)).toBe(true);
    expect(() => readUNet2DConfig(file)).toThrow(ConfigError);
    expect(() => readUNet2DConfig(file)).toThrow(/diffusion_pytorch_model\.safetensors: cannot read the UNet config/);
    expect(() => readUNet2DConfig(fixturePath('tiny-unet', 'no-such-file.json'))).toThrow(/no-such-file\.json: cannot read the UNet config: no such file$/);
  });

  test('the error carries the source and the key', () => {
    const json = cifar();
    json.norm_num_groups = 30;
    let error: unknown;
    try {
      parseUNet2DConfig(json, 'unet/config.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('unet/config.json: norm_num_groups=30 does not divide block_out_channels[0]=128');
    expect((error as ConfigError).source).toBe('unet/config.json');
    expect((error as ConfigError).key).toBe('norm_num_groups');
  });
});

describe('unknown keys: one warning through the sink, never an error', () => {
  test('keys of newer diffusers versions and metadata keys are ignored; the warning names the unknown ones', () => {
    const warnings: string[] = [];
    const json = { ...cifar(), _diffusers_version: '0.31.0', some_future_key: 1, cross_attention_dim: null };
    const config = parseUNet2DConfig(json, 'unet/config.json', { onWarning: (m) => warnings.push(m) });
    expect(config).toEqual(parseUNet2DConfig(cifar()));
    expect(warnings).toEqual(['unet/config.json: ignoring config keys that UNet2DModel does not know: some_future_key, cross_attention_dim']);
  });

  test('prototype keys are never known keys (own-property lookups): toString, constructor warn; __proto__ is metadata', () => {
    const warnings: string[] = [];
    // JSON.parse makes "__proto__" an own key (a `_` metadata key, skipped as diffusers does); its content is never read.
    const json = JSON.parse('{"__proto__": {"layers_per_block": 100000}, "toString": 1, "constructor": "x", "hasOwnProperty": null}');
    const config = parseUNet2DConfig(json, 'unet/config.json', { onWarning: (m) => warnings.push(m) });
    expect(config.layersPerBlock).toBe(2);
    expect(warnings).toEqual(['unet/config.json: ignoring config keys that UNet2DModel does not know: toString, constructor, hasOwnProperty']);
    // An inherited field is not a given field either.
    expect(parseUNet2DConfig(Object.create({ layers_per_block: 100000 }), 'x', { onWarning: () => {} }).layersPerBlock).toBe(2);
    expect(({} as Record<string, unknown>).layers_per_block).toBeUndefined();
  });

  test('the default sink is console.warn, and it stays quiet for a clean config', () => {
    const spy = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      parseUNet2DConfig({ ...cifar(), _name_or_path: 'x' });
      expect(spy).not.toHaveBeenCalled();
      parseUNet2DConfig({ ...cifar(), mystery: true });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][0]).toBe('unet config: ignoring config key that UNet2DModel does not know: mystery');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('UNet defaults, checked against diffusers itself (not against this library\'s constants)', () => {
  test('the config diffusers 0.30.3 wrote with save_pretrained (its defaults filled in) is what ours gives for the same input', () => {
    const fixture = loadFixture('unet_tiny.json') as { config: Record<string, unknown>; config_json_written_by_save_pretrained: Record<string, unknown> };
    const written = fixture.config_json_written_by_save_pretrained;
    const ours = unet2DConfigToJSON(parseUNet2DConfig(fixture.config));
    const defaulted = Object.keys(written).filter((k) => !k.startsWith('_') && !(k in fixture.config));
    expect(defaulted.length).toBeGreaterThan(8); // e.g. add_attention, downsample_type, dropout, resnet_time_scale_shift
    for (const key of Object.keys(written).filter((k) => !k.startsWith('_'))) expect([key, ours[key]]).toEqual([key, written[key]]);
  });
});

describe('unknown-key warnings are bounded and safe to print (issue 22)', () => {
  test('300,000 unknown keys: the first 5 and a count; a key with ANSI escapes is quoted with them escaped', () => {
    const keys = Array.from({ length: 300_000 }, (_, i) => `k${i}`);
    const warning = unknownKeysWarning('config.json', 'UNet2DModel', ['\u001b[2Kok: every seed verified', ...keys]);
    expect(warning).toBe(
      'config.json: ignoring config keys that UNet2DModel does not know: "\\u001b[2Kok: every seed verified", k0, k1, k2, k3 and 299996 more',
    );
    expect(warning.length).toBeLessThan(300);
    expect(unknownKeysWarning('c', 'X', ['x'.repeat(10_000)]).length).toBeLessThan(200);
  });
});
