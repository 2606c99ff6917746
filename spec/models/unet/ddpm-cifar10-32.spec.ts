import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../../lib/node/backends/set-backend';
import { parseUNet2DConfig } from '../../../lib/models/unet/config';
import { DDPM_CIFAR10_32_PARAMETERS, DDPM_CIFAR10_32_UNET_CONFIG } from '../../../lib/models/unet/ddpm-cifar10-32';
import { stateDictBindings } from '../../../lib/models/unet/state-dict-mapping';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';

// The full google/ddpm-cifar10-32 architecture, on wasm only (the cpu backend takes ~10 s per forward at this size).
describe('UNet2DModel at the google/ddpm-cifar10-32 size', () => {
  let unet: UNet2DModel;
  beforeAll(async () => {
    await setBackend('wasm');
    unet = UNet2DModel.fromConfig({ ...DDPM_CIFAR10_32_UNET_CONFIG });
  });
  afterAll(() => unet?.dispose());

  test('builds with exactly the parameter count of the PyTorch model', () => {
    expect(unet.countParams()).toBe(DDPM_CIFAR10_32_PARAMETERS);
    const bindings = stateDictBindings(unet.model);
    expect(bindings).toHaveLength(328); // state_dict entries: the same block layout as the tiny fixture (328 keys)
    expect(bindings.reduce((s, b) => s + b.shape.reduce((a, d) => a * d, 1), 0)).toBe(35_746_307);
    const byKey = new Map(bindings.map((b) => [b.key, b.torchShape]));
    expect(byKey.get('conv_in.weight')).toEqual([128, 3, 3, 3]);
    expect(byKey.get('time_embedding.linear_1.weight')).toEqual([512, 128]);
    expect(byKey.get('down_blocks.1.attentions.0.to_q.weight')).toEqual([256, 256]);
    expect(byKey.get('up_blocks.0.resnets.0.conv1.weight')).toEqual([256, 512, 3, 3]);
    expect(byKey.get('up_blocks.3.resnets.0.conv_shortcut.weight')).toEqual([128, 384, 1, 1]);
    expect(byKey.get('mid_block.attentions.0.group_norm.weight')).toEqual([256]);
  });

  test('fromConfig takes a parsed config as well as config.json, and rejects a bad one by field', () => {
    const again = UNet2DModel.fromConfig(parseUNet2DConfig({ ...DDPM_CIFAR10_32_UNET_CONFIG }));
    expect(again.config).toEqual(unet.config);
    expect(again.countParams()).toBe(DDPM_CIFAR10_32_PARAMETERS);
    again.dispose();
    expect(() => UNet2DModel.fromConfig({ ...unet.config, normNumGroups: 24 })).toThrow(/norm_num_groups=24 does not divide block_out_channels\[0\]=128/);
  });

  test('runs a forward pass with random weights', async () => {
    let seed = 1;
    for (const v of unet.model.weights) {
      const shape = v.shape as number[];
      const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape.length === 2 ? shape[0] : 1;
      const value = tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), 'float32', seed++);
      v.write(value);
      value.dispose();
    }
    const sample = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const out = unet.predict(sample, 999);
    expect(out.shape).toEqual([1, 32, 32, 3]);
    const values = await out.data();
    expect(values.every(Number.isFinite)).toBe(true);
    expect(tf.moments(out).variance.dataSync()[0]).toBeGreaterThan(0); // not a constant image
    tf.dispose([sample, out]);
  });
});
