import * as fs from 'fs';
import { fixturePath } from '../../helpers/fixtures';
import {
  attentionHeads,
  parseUNet2DConfig,
  timeEmbedDim,
  UNET_2D_DEFAULTS,
  unet2DConfigToJSON,
} from '../../../lib/models/unet/config';
import { readUNet2DConfig } from '../../../lib/node/fs/read-unet-config';
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
    ['unknown down block type', (j) => ((j.down_block_types as string[])[2] = 'CrossAttnDownBlock2D'), /down_block_types.*down_block_types\[2\]="CrossAttnDownBlock2D".*not supported/],
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
    ['unknown key', (j) => (j.cross_attention_dim = 768), /unknown field cross_attention_dim=768 \(supported fields: sample_size, /],
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
    expect(() => parseUNet2DConfig([1, 2])).toThrow(/expected a JSON object, got \[1,2\]/);
    const file = fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors');
    expect(fs.existsSync(file)).toBe(true);
    expect(() => readUNet2DConfig(file)).toThrow(/diffusion_pytorch_model\.safetensors: cannot read the UNet config/);
  });
});
